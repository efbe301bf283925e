from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    SECRET_KEY: str
    DATABASE_URL: str
    SITE_NAME: str
    LOG_LEVEL: str
    DEBUG: bool = False


settings = Settings()
