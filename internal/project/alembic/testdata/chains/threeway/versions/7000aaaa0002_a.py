"""7000aaaa0002

Revision ID: 7000aaaa0002
Revises: 
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '7000aaaa0002'
down_revision = '7000aaaa0001'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
