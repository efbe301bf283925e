"""Settings, read from the environment: Fly secrets and the [env] table of fly.toml."""

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Secrets. No defaults: the app refuses to start when one is missing.
    SECRET_KEY: str
    JWT_SECRET_KEY: str
    DATABASE_URL: str

    # Optional. Without it the app runs without Redis.
    REDIS_URL: str | None = None

    LOG_LEVEL: str = "info"
    # Per process: gunicorn runs 2 workers, so at most 2 x (5 + 5) connections.
    DB_POOL_SIZE: int = 5
    DB_MAX_OVERFLOW: int = 5

    @field_validator("DATABASE_URL")
    @classmethod
    def use_asyncpg(cls, value: str) -> str:
        """Make the URL Fly sets fit for asyncpg.

        `fly postgres attach` sets postgres://user:pass@host:5432/db?sslmode=disable.
        SQLAlchemy 2 has no "postgres" dialect, and asyncpg takes `ssl`, not `sslmode`.
        """
        url = make_url(value).set(drivername="postgresql+asyncpg")
        sslmode = url.query.get("sslmode")
        if sslmode is not None:
            url = url.difference_update_query(["sslmode"]).update_query_dict({"ssl": sslmode})
        return url.render_as_string(hide_password=False)


settings = Settings()
