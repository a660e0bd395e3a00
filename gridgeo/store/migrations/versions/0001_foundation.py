"""Foundation schema: generations, grid units, code registry, lineage, users.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

LEVEL_LENGTHS = (
    "(level = 'district' AND length(code) = 6) OR (level = 'street' AND length(code) = 9) OR "
    "(level = 'community' AND length(code) = 12) OR (level = 'grid' AND length(code) = 15) OR "
    "(level = 'microgrid' AND length(code) = 18)"
)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "generations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("label", sa.Text, nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="draft"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("valid_from", sa.DateTime(timezone=True)),
        sa.Column("valid_to", sa.DateTime(timezone=True)),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("generations.id")),
        sa.Column("note", sa.Text),
        sa.Column("forced_reason", sa.Text),
        sa.CheckConstraint(
            "status IN ('draft', 'validated', 'published', 'superseded')",
            name="ck_generations_status",
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR (valid_from IS NOT NULL AND valid_to > valid_from)",
            name="ck_generations_interval",
        ),
    )
    op.execute(
        "CREATE UNIQUE INDEX uq_generations_one_published ON generations ((true)) "
        "WHERE status = 'published'"
    )
    op.execute(
        "ALTER TABLE generations ADD CONSTRAINT ex_generations_validity "
        "EXCLUDE USING gist (tstzrange(valid_from, valid_to) WITH &&) "
        "WHERE (valid_from IS NOT NULL)"
    )
    op.create_table(
        "grid_units",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column(
            "generation_id",
            sa.Integer,
            sa.ForeignKey("generations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("code", sa.String(18), nullable=False),
        sa.Column("parent_code", sa.String(18)),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False, server_default="base"),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("population", sa.Integer),
        sa.Column("households", sa.Integer),
        sa.Column("full_time_workers", sa.Integer, nullable=False, server_default="0"),
        sa.Column("part_time_workers", sa.Integer, nullable=False, server_default="0"),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=4490, spatial_index=False), nullable=False),
        sa.UniqueConstraint("generation_id", "code", name="uq_grid_units_generation_code"),
        sa.CheckConstraint("code ~ '^[0-9]+$'", name="ck_grid_units_code_digits"),
        sa.CheckConstraint(LEVEL_LENGTHS, name="ck_grid_units_code_length"),
        sa.CheckConstraint("kind IN ('base', 'special')", name="ck_grid_units_kind"),
        sa.CheckConstraint(
            "kind = 'base' OR level IN ('grid', 'microgrid')", name="ck_grid_units_special_level"
        ),
        sa.CheckConstraint(
            "parent_code IS NULL OR starts_with(code, parent_code)", name="ck_grid_units_prefix"
        ),
    )
    op.create_index("ix_grid_units_geom", "grid_units", ["geom"], postgresql_using="gist")
    op.create_index("ix_grid_units_generation_level", "grid_units", ["generation_id", "level"])
    op.create_index(
        "ix_grid_units_generation_parent", "grid_units", ["generation_id", "parent_code"]
    )

    op.create_table(
        "code_registry",
        sa.Column("code", sa.String(18), primary_key=True),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("status", sa.String(8), nullable=False, server_default="active"),
        sa.Column(
            "first_generation_id", sa.Integer, sa.ForeignKey("generations.id"), nullable=False
        ),
        sa.Column("retired_generation_id", sa.Integer, sa.ForeignKey("generations.id")),
        sa.Column("retired_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("status IN ('active', 'retired')", name="ck_code_registry_status"),
        sa.CheckConstraint(
            "(status = 'retired') = (retired_generation_id IS NOT NULL)",
            name="ck_code_registry_retired_generation",
        ),
    )
    # A retired code never comes back: neither by reactivating its registry row,
    # nor by deleting the row to register it afresh, nor by placing it in a new
    # generation's grid units.
    op.execute(
        """
        CREATE FUNCTION gridgeo_registry_guard() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION 'code % is registered and can never be deleted', OLD.code
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF OLD.status = 'retired' AND NEW.status <> 'retired' THEN
                RAISE EXCEPTION 'code % was retired and can never be reused', OLD.code
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF NEW.code <> OLD.code THEN
                RAISE EXCEPTION 'registered codes cannot be renamed (%)', OLD.code
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER code_registry_guard BEFORE UPDATE OR DELETE ON code_registry
            FOR EACH ROW EXECUTE FUNCTION gridgeo_registry_guard();

        CREATE FUNCTION gridgeo_retired_code_guard() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            retired_in integer;
        BEGIN
            SELECT retired_generation_id INTO retired_in FROM code_registry
                WHERE code = NEW.code AND status = 'retired';
            IF retired_in IS NOT NULL AND NEW.generation_id > retired_in THEN
                RAISE EXCEPTION 'code % was retired in generation % and can never be reused',
                    NEW.code, retired_in USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER grid_units_retired_code_guard BEFORE INSERT OR UPDATE OF code
            ON grid_units FOR EACH ROW EXECUTE FUNCTION gridgeo_retired_code_guard();
        """
    )

    op.create_table(
        "code_lineage",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column(
            "generation_id",
            sa.Integer,
            sa.ForeignKey("generations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("code", sa.String(18), nullable=False),
        sa.Column("related_code", sa.String(18), nullable=False),
        sa.Column("relation", sa.String(16), nullable=False),
        sa.CheckConstraint(
            "relation IN ('split_from', 'merged_into', 'replaced_by')", name="ck_lineage_relation"
        ),
    )
    op.create_index("ix_code_lineage_code", "code_lineage", ["code"])
    op.create_index("ix_code_lineage_related_code", "code_lineage", ["related_code"])

    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column(
            "grid_codes",
            postgresql.ARRAY(sa.String(18)),
            nullable=False,
            server_default="{}",
        ),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.CheckConstraint(
            "role IN ('planner', 'analyst', 'worker', 'admin')", name="ck_users_role"
        ),
    )


def downgrade() -> None:
    op.drop_table("users")
    op.drop_table("code_lineage")
    op.execute("DROP TRIGGER IF EXISTS grid_units_retired_code_guard ON grid_units")
    op.execute("DROP TRIGGER IF EXISTS code_registry_guard ON code_registry")
    op.drop_table("code_registry")
    op.execute("DROP FUNCTION IF EXISTS gridgeo_retired_code_guard()")
    op.execute("DROP FUNCTION IF EXISTS gridgeo_registry_guard()")
    op.drop_table("grid_units")
    op.drop_table("generations")
