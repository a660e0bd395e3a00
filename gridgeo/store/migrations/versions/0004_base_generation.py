"""The generation a draft was derived from (partial re-import, redraw).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "generations",
        sa.Column(
            "base_generation_id",
            sa.Integer,
            sa.ForeignKey("generations.id", name="fk_generations_base_generation"),
        ),
    )


def downgrade() -> None:
    op.drop_constraint("fk_generations_base_generation", "generations", type_="foreignkey")
    op.drop_column("generations", "base_generation_id")
