from fastapi import FastAPI
from sqlalchemy import create_engine

from app.models import Base

engine = create_engine("sqlite:///app.db")
Base.metadata.create_all(engine)
app = FastAPI()
