"""7000aaaa0005

Revision ID: 7000aaaa0005
Revises: 
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '7000aaaa0005'
down_revision = ['7000aaaa0002', '7000aaaa0003', '7000aaaa0004']
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
