"""Validation reports and import notes on generations.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("generations", sa.Column("validation_report", postgresql.JSONB))
    op.add_column("generations", sa.Column("import_notes", postgresql.JSONB))


def downgrade() -> None:
    op.drop_column("generations", "import_notes")
    op.drop_column("generations", "validation_report")
