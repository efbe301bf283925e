import os

SECRET_KEY = os.environ["SECRET_KEY"]
JWT_SECRET_KEY = os.getenv("JWT_SECRET_KEY")
PASSWORD_MIN_LENGTH = 12
ACCESS_TOKEN_EXPIRE_MINUTES = int(os.environ.get("ACCESS_TOKEN_EXPIRE_MINUTES", "30"))
AUTH_BACKEND = "app.auth.backends.TokenBackend"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
