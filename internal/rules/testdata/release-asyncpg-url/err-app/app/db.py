import os

from sqlalchemy.ext.asyncio import create_async_engine

engine = create_async_engine(os.getenv("DATABASE_URL"))
