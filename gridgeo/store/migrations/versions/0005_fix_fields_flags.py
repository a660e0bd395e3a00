"""Optional phone fields on track fixes; authenticity flags with a review state.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE track_fixes
            ADD COLUMN speed_mps real,
            ADD COLUMN bearing_deg real,
            ADD COLUMN altitude_m real,
            ADD COLUMN provider varchar(32),
            ADD COLUMN is_mock boolean,
            ADD COLUMN satellites smallint,
            ADD COLUMN received_at timestamptz DEFAULT now();
        CREATE TABLE track_flags (
            id bigserial PRIMARY KEY,
            worker_id text NOT NULL,
            patrol_key text NOT NULL,
            kind varchar(32) NOT NULL,
            reason text NOT NULL,
            evidence jsonb NOT NULL DEFAULT '{}'::jsonb,
            start_at timestamptz NOT NULL,
            end_at timestamptz NOT NULL,
            state varchar(16) NOT NULL DEFAULT 'open'
                CHECK (state IN ('open', 'confirmed', 'dismissed')),
            reviewed_by text,
            reviewed_at timestamptz,
            note text,
            created_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (patrol_key, kind, start_at)
        );
        CREATE INDEX ix_track_flags_worker ON track_flags (worker_id, start_at);
        CREATE INDEX ix_track_flags_state ON track_flags (state, kind);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE IF EXISTS track_flags;
        ALTER TABLE track_fixes
            DROP COLUMN IF EXISTS received_at,
            DROP COLUMN IF EXISTS satellites,
            DROP COLUMN IF EXISTS is_mock,
            DROP COLUMN IF EXISTS provider,
            DROP COLUMN IF EXISTS altitude_m,
            DROP COLUMN IF EXISTS bearing_deg,
            DROP COLUMN IF EXISTS speed_mps;
        """
    )
