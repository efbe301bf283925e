"""6000ffff0002

Revision ID: 6000ffff0002
Revises: 
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '6000ffff0002'
down_revision = '6000ffff0001'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
