"""Redirects every plain-HTTP request to HTTPS, including Fly's health checks."""

from fastapi import FastAPI
from fastapi.middleware.httpsredirect import HTTPSRedirectMiddleware

app = FastAPI()
app.add_middleware(HTTPSRedirectMiddleware)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
