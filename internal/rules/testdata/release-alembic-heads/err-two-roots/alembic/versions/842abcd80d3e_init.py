"""revision 842abcd80d3e

Revision ID: 842abcd80d3e
"""
import sqlalchemy as sa
from alembic import op

revision = "842abcd80d3e"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("t_842abcd80d3e", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    pass
