"""revision 29e2b3c8b942

Revision ID: 29e2b3c8b942
"""
import sqlalchemy as sa
from alembic import op

revision = "29e2b3c8b942"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    from app.models import Base

    Base.metadata.create_all(bind=op.get_bind())


def downgrade() -> None:
    pass
