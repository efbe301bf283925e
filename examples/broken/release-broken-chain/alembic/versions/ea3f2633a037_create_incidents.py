"""create incidents

Revision ID: ea3f2633a037
Revises: 1b0ae377cbf6
Create Date: 2025-03-19 09:05:44.120376

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "ea3f2633a037"
down_revision: str | Sequence[str] | None = "1b0ae377cbf6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("incidents")
