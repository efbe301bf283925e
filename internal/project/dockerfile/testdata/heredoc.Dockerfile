# syntax=docker/dockerfile:1.7
FROM python:3.12-slim AS base
RUN --mount=type=cache,target=/var/cache/apt <<EOF
set -eux
apt-get update
apt-get install -y --no-install-recommends \
    libpq5 \
    curl
rm -rf /var/lib/apt/lists/*
EOF
RUN python3 <<PY
import os
print("apt-get install -y nothing")
PY
COPY <<EOF /app/settings.ini
[app]
port = 8080
EOF
RUN bash <<'SCRIPT'
pip install --no-cache-dir "psycopg[binary]==3.2.1"
SCRIPT
CMD ["python", "-m", "app"]
