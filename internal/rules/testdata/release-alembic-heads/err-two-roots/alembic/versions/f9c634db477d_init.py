"""revision f9c634db477d

Revision ID: f9c634db477d
"""
import sqlalchemy as sa
from alembic import op

revision = "f9c634db477d"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("t_f9c634db477d", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    pass
