import os

from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    # Set in fly.toml [env] (pydantic matches names case-insensitively).
    APP_ENV: str
    SITE_NAME: str
    # Optional: defaults.
    DEBUG: bool = False
    REDIS_URL: str | None = None
    LOG_LEVEL: str = "info"


settings = Settings()

# Set by the Dockerfile's ENV.
WORKERS = int(os.environ["WEB_CONCURRENCY"])
# Set by Fly on every machine.
REGION = os.environ["FLY_REGION"]
APP_NAME = os.environ["FLY_APP_NAME"]
# Optional reads.
SENTRY_DSN = os.getenv("SENTRY_DSN")
