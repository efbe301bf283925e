revision = "bb01"
down_revision = None


def upgrade():
    pass
