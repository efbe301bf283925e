from fastapi import FastAPI
from sqlalchemy import text

from app.db import SessionLocal

app = FastAPI()


@app.get("/health")
async def health() -> dict[str, str]:
    async with SessionLocal() as session:
        await session.execute(text("SELECT 1"))
    return {"status": "ok"}
