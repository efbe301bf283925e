"""revision 5c8f0e1d2a3b

Revision ID: 5c8f0e1d2a3b
"""
import sqlalchemy as sa
from alembic import op

revision = "5c8f0e1d2a3b"
down_revision = ("1b0ae377cbf6", "ea3f2633a037")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
