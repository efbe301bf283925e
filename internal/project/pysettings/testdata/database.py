import os
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app.core.config import settings
from app.models import Base


def async_url(raw: str) -> str:
    # fly postgres attach gives postgres://...?sslmode=disable
    if raw.startswith("postgres://"):
        raw = raw.replace("postgres://", "postgresql+asyncpg://", 1)
    parts = urlsplit(raw)
    query = dict(parse_qsl(parts.query))
    query.pop("sslmode", None)
    return urlunsplit(parts._replace(query=urlencode(query)))


def sync_url(raw: str) -> str:
    return str(make_url(raw).set(drivername="postgresql+psycopg2"))


engine = create_async_engine(
    async_url(settings.DATABASE_URL),
    pool_size=int(os.getenv("DB_POOL_SIZE", "20")),
    max_overflow=30,
    pool_pre_ping=True,
)
SessionLocal = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


async def init_models() -> None:
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


DEBUG_SQL = re.sub(r"^postgres(ql)?://", "", os.environ.get("LOG_SQL_URL", ""))
