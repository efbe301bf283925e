"""Health endpoint that talks to PostgreSQL through psycopg2."""

import os

import psycopg2
from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
def health() -> dict[str, str]:
    with psycopg2.connect(os.environ["DATABASE_URL"], connect_timeout=3) as conn:
        conn.cursor().execute("SELECT 1")
    return {"status": "ok"}
