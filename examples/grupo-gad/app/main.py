"""GRUPO_GAD API: the FastAPI app, its routers, and the clients it opens and closes."""

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import Redis

from app.api import health, ws
from app.core.config import settings
from app.db import engine

logging.basicConfig(level=settings.LOG_LEVEL.upper())


@asynccontextmanager
async def lifespan(app: FastAPI):
    # The schema is migrated by `alembic upgrade head` (fly.toml release_command), not here.
    app.state.redis = Redis.from_url(settings.REDIS_URL) if settings.REDIS_URL else None
    yield
    if app.state.redis is not None:
        await app.state.redis.aclose()
    await engine.dispose()


app = FastAPI(title="GRUPO_GAD", lifespan=lifespan)
app.include_router(health.router)
app.include_router(ws.router)
