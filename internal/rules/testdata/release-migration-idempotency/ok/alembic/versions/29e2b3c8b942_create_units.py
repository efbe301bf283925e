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
    op.execute("ALTER TABLE units ADD COLUMN IF NOT EXISTS callsign VARCHAR(20)")
    op.execute('CREATE EXTENSION IF NOT EXISTS "uuid-ossp"')
    op.execute("CREATE INDEX IF NOT EXISTS ix_units_name ON units (name)")
    op.execute("""
        DO $$ BEGIN
            CREATE TYPE unit_status AS ENUM ('free', 'busy');
        EXCEPTION WHEN duplicate_object THEN NULL;
        END $$;
    """)
    op.execute("ALTER TABLE units ADD CONSTRAINT uq_units_name UNIQUE (name)")
    op.execute("UPDATE units SET status = 'free' WHERE status IS NULL")
    op.execute("CREATE OR REPLACE VIEW free_units AS SELECT * FROM units WHERE status = 'free'")
    op.add_column("units", sa.Column("radio", sa.String(20)))
    conn = op.get_bind()
    if not conn.execute(sa.text("SELECT 1 FROM pg_type WHERE typname = 'unit_kind'")).scalar():
        op.execute("CREATE TYPE unit_kind AS ENUM ('car', 'bike')")


def downgrade() -> None:
    pass
