"""add unit callsign

Revision ID: 1b0ae377cbf6
Revises: 29e2b3c8b942
Create Date: 2025-03-18 16:40:02.907554

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "1b0ae377cbf6"
down_revision: str | Sequence[str] | None = "29e2b3c8b942"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("units", sa.Column("callsign", sa.String(length=20), nullable=True))


def downgrade() -> None:
    op.drop_column("units", "callsign")
