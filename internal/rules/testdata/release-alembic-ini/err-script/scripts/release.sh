#!/bin/bash
set -euo pipefail
echo migrating
alembic upgrade head
