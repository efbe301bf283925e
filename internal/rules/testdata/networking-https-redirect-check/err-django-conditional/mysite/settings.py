import os

DEBUG = os.environ.get("DEBUG", "0") == "1"
SECRET_KEY = os.environ["SECRET_KEY"]
SECURE_SSL_REDIRECT = not DEBUG
