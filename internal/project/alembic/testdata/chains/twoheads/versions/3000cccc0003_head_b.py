"""3000cccc0003

Revision ID: 3000cccc0003
Revises: 
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '3000cccc0003'
down_revision = '3000cccc0001'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
