"""5000eeee0002

Revision ID: 5000eeee0002
Revises: 
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '5000eeee0002'
down_revision = '5000eeee9999'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
