"""1000aaaa0003

Revision ID: 1000aaaa0003
Revises: 
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '1000aaaa0003'
down_revision = '1000aaaa0002'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
