import os
import secrets

from decouple import config

SECRET_KEY = os.environ["SECRET_KEY"]
JWT_SECRET_KEY: str = os.getenv("JWT_SECRET_KEY", "changeme")
SESSION_SECRET = secrets.token_urlsafe(32)
API_KEY = config("API_KEY", default=None)
DB_PASSWORD = settings.DB_PASSWORD
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [{"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"}]
TOKEN_URL = "https://oauth2.googleapis.com/token"
ACCESS_TOKEN_EXPIRE_MINUTES = 60 * 24 * 8
password = get_password()
token = f"{prefix}-{os.environ['TOKEN_SUFFIX']}"
ADMIN_TOKEN = "$argon2id$v=19$m=65540,t=3,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g"
AUTH_BACKEND = "app.auth.backends.TokenBackend"
