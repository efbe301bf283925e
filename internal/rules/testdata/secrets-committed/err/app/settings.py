import os

SECRET_KEY = os.environ.get("SECRET_KEY", "d1e96f83a27cbc9ca5c43b159bd32117377ae821")
DEBUG = os.environ.get("DEBUG") == "1"
