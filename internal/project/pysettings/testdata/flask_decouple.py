from decouple import Csv, config
from flask import Flask
from flask_talisman import Talisman

app = Flask(__name__)
app.config["SECRET_KEY"] = config("SECRET_KEY")
app.config["SQLALCHEMY_DATABASE_URI"] = config("DATABASE_URL", default="sqlite:///app.db")
app.config["ALLOWED"] = config("ALLOWED_HOSTS", cast=Csv())
app.config["DEBUG"] = config("DEBUG", False, cast=bool)
app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 10, "max_overflow": 5, "pool_pre_ping": True}

Talisman(app, content_security_policy=None)

with app.app_context():
    from .models import db

    db.create_all()
