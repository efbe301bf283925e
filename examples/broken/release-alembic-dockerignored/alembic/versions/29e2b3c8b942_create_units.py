"""create units

Revision ID: 29e2b3c8b942
Revises:
Create Date: 2025-03-04 10:12:31.482113

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "29e2b3c8b942"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=100), nullable=False, unique=True),
        sa.Column("status", sa.String(length=20), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("units")
