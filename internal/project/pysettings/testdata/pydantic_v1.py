from typing import Optional

from pydantic import BaseSettings, Field


class Base(BaseSettings):
    debug: bool = False
    database_url: str = Field(..., env="DATABASE_URL")
    redis_url: Optional[str]

    class Config:
        env_prefix = "APP_"
        env_file = ".env"


class Production(Base):
    sentry_dsn: str
    api_key: str = Field(None, env=["API_KEY", "LEGACY_API_KEY"])
    token: str = Field(alias="TOKEN_ALIAS")


settings = Production()
