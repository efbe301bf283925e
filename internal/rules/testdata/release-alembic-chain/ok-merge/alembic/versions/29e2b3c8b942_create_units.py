"""revision 29e2b3c8b942

Revision ID: 29e2b3c8b942
"""
import sqlalchemy as sa
from alembic import op

revision = "29e2b3c8b942"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("t_29e2b3c8b942", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    pass
