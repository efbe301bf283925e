"""revision aaaa00000001

Revision ID: aaaa00000001
"""
import sqlalchemy as sa
from alembic import op

revision = "aaaa00000001"
down_revision = None
branch_labels = ("core",)
depends_on = None


def upgrade() -> None:
    op.create_table("t_aaaa00000001", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    pass
