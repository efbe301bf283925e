"""3000cccc0002

Revision ID: 3000cccc0002
Revises: 
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '3000cccc0002'
down_revision = '3000cccc0001'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
