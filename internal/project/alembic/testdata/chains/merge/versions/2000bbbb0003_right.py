"""2000bbbb0003

Revision ID: 2000bbbb0003
Revises: 
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '2000bbbb0003'
down_revision = '2000bbbb0001'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
