"""Application settings, read from the environment (and .env in development).

Nothing in this docstring is code: os.environ["NOT_A_VAR"] stays text.
"""
import secrets
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AliasChoices, AnyUrl, BeforeValidator, Field, PostgresDsn, computed_field
from pydantic_settings import BaseSettings, SettingsConfigDict


def split_origins(v: Any) -> list[str] | str:
    if isinstance(v, str) and not v.startswith("["):
        return [i.strip() for i in v.split(",")]
    return v


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",  # one level above ./backend/
        env_ignore_empty=True,
        extra="ignore",
    )

    API_PREFIX: str = "/api/v1"
    SECRET_KEY: str
    JWT_SECRET_KEY: str = Field(..., min_length=32)
    ACCESS_TOKEN_EXPIRE_MINUTES: int = 60 * 24
    ENVIRONMENT: Literal["local", "staging", "production"] = "local"
    SESSION_SALT: str = secrets.token_urlsafe(16)

    CORS_ORIGINS: Annotated[
        list[AnyUrl] | str, BeforeValidator(split_origins)
    ] = []

    @computed_field  # type: ignore[prop-decorator]
    @property
    def all_origins(self) -> list[str]:
        return [str(o).rstrip("/") for o in self.CORS_ORIGINS]

    DATABASE_URL: PostgresDsn
    REDIS_URL: str | None
    SENTRY_DSN: AnyUrl | None = None
    DB_POOL_SIZE: int = 5
    DB_MAX_OVERFLOW: int = Field(default=10, ge=0)

    SMTP_PASSWORD: Annotated[str, Field(validation_alias=AliasChoices("SMTP_PASSWORD", "MAIL_PASSWORD"))]
    admin_email: str = Field(alias="FIRST_SUPERUSER")
    _cache: dict = {}
    registry: ClassVar[dict[str, str]] = {}

    def _check(self, name: str, value: str | None) -> None:
        if value == "changethis":
            raise ValueError(f"{name} must be changed")


settings = Settings()  # type: ignore
