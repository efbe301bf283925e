"""revision ea3f2633a037

Revision ID: ea3f2633a037
"""
import sqlalchemy as sa
from alembic import op

revision = "ea3f2633a037"
down_revision = "29e2b3c8b942"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("t_ea3f2633a037", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    pass
