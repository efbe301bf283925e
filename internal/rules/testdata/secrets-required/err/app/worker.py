import os

# Read again here: reported once, at the pydantic field.
SECRET_KEY = os.environ["SECRET_KEY"]
BROKER_URL = os.environ["CELERY_BROKER_URL"]
STRIPE_API_KEY = os.environ.get("STRIPE_API_KEY")
