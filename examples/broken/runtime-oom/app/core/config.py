"""Settings, read from the environment."""

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    DATABASE_URL: str
    # Per worker process: 8 workers x (20 + 10) = up to 240 connections.
    DB_POOL_SIZE: int = 20
    DB_MAX_OVERFLOW: int = 10

    @field_validator("DATABASE_URL")
    @classmethod
    def use_asyncpg(cls, value: str) -> str:
        """Make Fly's postgres://...?sslmode=disable fit for asyncpg."""
        url = make_url(value).set(drivername="postgresql+asyncpg")
        sslmode = url.query.get("sslmode")
        if sslmode is not None:
            url = url.difference_update_query(["sslmode"]).update_query_dict({"ssl": sslmode})
        return url.render_as_string(hide_password=False)


settings = Settings()
