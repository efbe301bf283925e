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
    # The column was first added by hand in production to fix an outage.
    op.execute("ALTER TABLE units ADD COLUMN callsign VARCHAR(20)")
    op.execute(
        """
        CREATE INDEX ix_units_callsign
        ON units (callsign)
        """
    )
    op.execute(sa.text("CREATE TYPE unit_status AS ENUM ('free', 'busy')"))
    op.execute("CREATE TABLE IF NOT EXISTS radios (id serial PRIMARY KEY); CREATE TABLE crews (id serial PRIMARY KEY)")


def downgrade() -> None:
    pass
