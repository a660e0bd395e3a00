"""Workers, events with their transition history, and GPS fixes partitioned by month.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("worker_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("employment", sa.String(16), nullable=False),
        sa.Column("grid_code", sa.String(18), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.CheckConstraint(
            "employment IN ('full_time', 'part_time')", name="ck_workers_employment"
        ),
    )
    op.create_index("ix_workers_grid_code", "workers", ["grid_code"])

    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("event_id", sa.Text, nullable=False, unique=True),
        sa.Column("external_id", sa.Text, unique=True),
        sa.Column("category_code", sa.Text, nullable=False),
        sa.Column("category_l1", sa.Text, nullable=False, server_default=""),
        sa.Column("category_l2", sa.Text, nullable=False, server_default=""),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lon", sa.Float(53), nullable=False),
        sa.Column("lat", sa.Float(53), nullable=False),
        sa.Column("crs", sa.String(16), nullable=False, server_default="wgs84"),
        sa.Column("geom", Geometry("POINT", srid=4490, spatial_index=False), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("reporter", sa.Text),
        sa.Column("status", sa.String(16), nullable=False, server_default="reported"),
        sa.Column("owner_code", sa.String(18)),
        sa.Column("owner_generation_id", sa.Integer, sa.ForeignKey("generations.id")),
        sa.Column("department", sa.Text),
        sa.Column("due_at", sa.DateTime(timezone=True)),
        sa.Column("deferred_hours", sa.Float, nullable=False, server_default="0"),
        sa.Column("registered_at", sa.DateTime(timezone=True)),
        sa.Column("dispatched_at", sa.DateTime(timezone=True)),
        sa.Column("handled_at", sa.DateTime(timezone=True)),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "source IN ('patrol', 'resident', 'hotline', 'higher_level')", name="ck_events_source"
        ),
        sa.CheckConstraint("crs IN ('wgs84', 'cgcs2000', 'gcj02', 'bd09')", name="ck_events_crs"),
    )
    op.create_index("ix_events_geom", "events", ["geom"], postgresql_using="gist")
    op.create_index("ix_events_owner_code", "events", ["owner_code"])
    op.create_index("ix_events_status", "events", ["status"])
    op.create_index("ix_events_category", "events", ["category_code"])
    op.execute("CREATE INDEX ix_events_reported_at ON events USING brin (reported_at)")

    op.create_table(
        "event_transitions",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column(
            "event_id",
            sa.BigInteger,
            sa.ForeignKey("events.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_state", sa.String(16)),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text),
        sa.Column("comment", sa.Text),
        sa.UniqueConstraint("event_id", "seq", name="uq_event_transitions_seq"),
    )

    # GPS fixes: range-partitioned by month on the fix time; the loader creates
    # the monthly partitions it needs, the default partition catches the rest.
    op.execute(
        """
        CREATE TABLE track_fixes (
            worker_id text NOT NULL,
            patrol_id text,
            t timestamptz NOT NULL,
            lon double precision NOT NULL,
            lat double precision NOT NULL,
            crs varchar(16) NOT NULL DEFAULT 'wgs84',
            accuracy_m real,
            geom geometry(Point, 4490) NOT NULL
        ) PARTITION BY RANGE (t);
        CREATE TABLE track_fixes_default PARTITION OF track_fixes DEFAULT;
        CREATE INDEX ix_track_fixes_worker_t ON track_fixes (worker_id, t);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS track_fixes CASCADE")
    op.drop_table("event_transitions")
    op.drop_table("events")
    op.drop_table("workers")
