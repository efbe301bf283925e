"""7000aaaa0004

Revision ID: 7000aaaa0004
Revises: 
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '7000aaaa0004'
down_revision = '7000aaaa0001'
branch_labels = ('feature',)
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
