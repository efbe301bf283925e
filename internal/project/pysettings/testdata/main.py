from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI
from starlette.config import Config
from starlette.middleware import Middleware
from starlette.middleware.httpsredirect import HTTPSRedirectMiddleware

config = Config(".env")
REDIS_URL = config("REDIS_URL", default="redis://localhost:6379")
SENTRY_DSN = config("SENTRY_DSN", str)
RELEASE = config("RELEASE", str, "dev")

app = FastAPI(middleware=[Middleware(HTTPSRedirectMiddleware)])


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok", "db": f"{os.getenv('DB_NAME')}"}


if __name__ == "__main__":
    uvicorn.run("app.main:app", host="0.0.0.0", port=8080, workers=4)
