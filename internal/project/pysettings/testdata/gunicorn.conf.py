import multiprocessing
import os

host = os.getenv("HOST", "0.0.0.0")
port = os.getenv("PORT", "8080")
bind = f"{host}:{port}"

cores = multiprocessing.cpu_count()
web_concurrency = int(os.getenv("WEB_CONCURRENCY", "2"))

workers = web_concurrency
worker_class = "uvicorn.workers.UvicornWorker"
timeout = 120
