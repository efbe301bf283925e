"""revision bbbb00000001

Revision ID: bbbb00000001
"""
import sqlalchemy as sa
from alembic import op

revision = "bbbb00000001"
down_revision = None
branch_labels = ("audit",)
depends_on = None


def upgrade() -> None:
    op.create_table("t_bbbb00000001", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    pass
