revision = "aa02"
down_revision = "aa01"
depends_on = ("aa01",)


def upgrade():
    op.add_column("users", sa.Column("email", sa.String()))
