from python:3.11-slim-bookworm as Build
# comment between instructions
env PYTHONUNBUFFERED=1 \
    # a comment inside the continuation
    APP_HOME=/srv/app

run apt-get update \
    && apt-get install -y --no-install-recommends \
        # compilers
        build-essential \

        libpq-dev   \
    # trailing comment line
    && pip install --no-cache-dir psycopg2==2.9.9 \
    && apt-get purge -y --auto-remove build-essential
workdir $APP_HOME
expose 8000/tcp 9000/udp
cmd gunicorn app.wsgi --bind 0.0.0.0:8000
