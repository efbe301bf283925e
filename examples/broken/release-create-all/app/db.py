"""The app's engine, on the DATABASE_URL Fly sets, made fit for asyncpg."""

import os

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine


def database_url() -> str:
    url = make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+asyncpg")
    sslmode = url.query.get("sslmode")
    if sslmode is not None:
        url = url.difference_update_query(["sslmode"]).update_query_dict({"ssl": sslmode})
    return url.render_as_string(hide_password=False)


engine = create_async_engine(database_url(), pool_pre_ping=True)
