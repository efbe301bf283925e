#!/bin/sh
set -e
flask db upgrade
exec flask --app app run --port 8080
