"""SQLAlchemy 2 / GeoAlchemy2 models of gridgeo's PostGIS schema.

The schema itself is created by the Alembic migrations in
``gridgeo/store/migrations``; these classes mirror it for queries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

LEVELS = ("district", "street", "community", "grid", "microgrid")
KINDS = ("base", "special")
GENERATION_STATUSES = ("draft", "validated", "published", "superseded")
ROLES = ("planner", "analyst", "worker", "admin")
LINEAGE_RELATIONS = ("split_from", "merged_into", "replaced_by")


class Base(DeclarativeBase):
    """Declarative base of all gridgeo tables."""


class Generation(Base):
    """One complete, versioned boundary set (draft → validated → published → superseded)."""

    __tablename__ = "generations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(Text, unique=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    valid_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("generations.id"))
    note: Mapped[str | None] = mapped_column(Text)
    forced_reason: Mapped[str | None] = mapped_column(Text)
    validation_report: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    import_notes: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    base_generation_id: Mapped[int | None] = mapped_column(ForeignKey("generations.id"))
    """The published generation a draft was derived from (partial re-import or
    redraw): the draft is that generation with some units replaced."""


class GridUnit(Base):
    """A polygon of the hierarchy (district … micro-grid, or a special grid) in one generation."""

    __tablename__ = "grid_units"
    __table_args__ = (
        UniqueConstraint("generation_id", "code", name="uq_grid_units_generation_code"),
        Index("ix_grid_units_geom", "geom", postgresql_using="gist"),
        Index("ix_grid_units_generation_level", "generation_id", "level"),
        Index("ix_grid_units_generation_parent", "generation_id", "parent_code"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    generation_id: Mapped[int] = mapped_column(ForeignKey("generations.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(18))
    parent_code: Mapped[str | None] = mapped_column(String(18))
    level: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(8), default="base")
    name: Mapped[str] = mapped_column(Text, default="")
    population: Mapped[int | None] = mapped_column(Integer)
    households: Mapped[int | None] = mapped_column(Integer)
    full_time_workers: Mapped[int] = mapped_column(Integer, default=0)
    part_time_workers: Mapped[int] = mapped_column(Integer, default=0)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4490, spatial_index=False), nullable=False)


class CodeRegistry(Base):
    """Every code ever published; a retired code can never become active again."""

    __tablename__ = "code_registry"

    code: Mapped[str] = mapped_column(String(18), primary_key=True)
    level: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(8), default="active")
    first_generation_id: Mapped[int] = mapped_column(ForeignKey("generations.id"))
    retired_generation_id: Mapped[int | None] = mapped_column(ForeignKey("generations.id"))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CodeLineage(Base):
    """Lineage of codes across generations (split from / merged into / replaced by)."""

    __tablename__ = "code_lineage"
    __table_args__ = (
        CheckConstraint(
            "relation IN ('split_from', 'merged_into', 'replaced_by')", name="ck_lineage_relation"
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    generation_id: Mapped[int] = mapped_column(ForeignKey("generations.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(18), index=True)
    related_code: Mapped[str] = mapped_column(String(18), index=True)
    relation: Mapped[str] = mapped_column(String(16))


class User(Base):
    """An API user with one role; only the SHA-256 hash of the token is stored."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    grid_codes: Mapped[list[str]] = mapped_column(ARRAY(String(18)), default=list)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
