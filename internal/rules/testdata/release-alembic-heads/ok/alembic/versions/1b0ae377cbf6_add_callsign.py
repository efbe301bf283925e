"""revision 1b0ae377cbf6

Revision ID: 1b0ae377cbf6
"""
import sqlalchemy as sa
from alembic import op

revision = "1b0ae377cbf6"
down_revision = "29e2b3c8b942"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("t_1b0ae377cbf6", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    pass
