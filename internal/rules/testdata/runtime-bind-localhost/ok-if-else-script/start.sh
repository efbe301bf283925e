#!/bin/sh
set -e
if [ "$DEBUG" = "1" ]; then
  exec python manage.py runserver
else
  exec gunicorn mysite.wsgi --bind 0.0.0.0:8080
fi
