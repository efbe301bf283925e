import pydantic_settings
from pydantic import Field


class DatabaseSettings(pydantic_settings.BaseSettings):
    model_config = {"env_prefix": "POSTGRES_", "case_sensitive": False}

    host: str = Field(default="localhost")
    password: str = Field(alias="DB_PASSWORD")
    db: str


class CaseSettings(pydantic_settings.BaseSettings, env_prefix="svc_", case_sensitive=True):
    apiToken: str
    timeout: int = Field(default_factory=lambda: 30)
