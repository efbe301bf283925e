"""4000dddd0003

Revision ID: 4000dddd0003
Revises: 
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '4000dddd0003'
down_revision = '4000dddd0001'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
