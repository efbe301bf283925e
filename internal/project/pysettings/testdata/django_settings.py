import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env(
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, []),
    SECRET_KEY=(str),
)
environ.Env.read_env(os.path.join(BASE_DIR, ".env"))

DEBUG = env("DEBUG")
SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
DATABASES = {
    "default": env.db(),
}
CACHES = {"default": env.cache_url("REDIS_URL", default="locmemcache://")}
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", None)

SECURE_SSL_REDIRECT = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = [
    "https://" + os.environ["FLY_APP_NAME"] + ".fly.dev",
]
if "SENTRY_DSN" in os.environ:
    SENTRY = os.environ.get("SENTRY_DSN")
os.environ["DJANGO_SETTINGS_MODULE"] = "mysite.settings"
os.environ.setdefault("PYTHONUNBUFFERED", "1")
