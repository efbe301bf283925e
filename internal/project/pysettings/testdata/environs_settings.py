from environs import Env

env = Env()
env.read_env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY")
DATABASE_URL = env("DATABASE_URL")
PORT = env.int("PORT", 8080)
WEB_CONCURRENCY = env.int("WEB_CONCURRENCY", 3)
