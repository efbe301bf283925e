"""2000bbbb0004

Revision ID: 2000bbbb0004
Revises: 
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '2000bbbb0004'
down_revision = (
    '2000bbbb0002',
    '2000bbbb0003',
)
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
