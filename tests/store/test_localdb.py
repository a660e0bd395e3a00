"""The project-local cluster: idempotent up, down, and two homes side by side."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from gridgeo.store import localdb


@pytest.fixture
def homes(tmp_path: Path):  # type: ignore[no-untyped-def]
    created = [tmp_path / "clone-a" / ".gridgeo", tmp_path / "clone-b" / ".gridgeo"]
    yield created
    for home in created:
        localdb.down(home)


def _select_one(cluster: localdb.Cluster) -> str:
    with psycopg.connect(
        host=str(cluster.socket_dir), port=localdb.PORT, user="gridgeo", dbname="gridgeo"
    ) as conn:
        row = conn.execute("SELECT postgis_lib_version()").fetchone()
        assert row is not None
        return str(row[0])


def test_up_twice_down_and_two_clusters(homes: list[Path]) -> None:
    first = localdb.up(homes[0])
    again = localdb.up(homes[0])
    assert again.data_dir == first.data_dir
    second = localdb.up(homes[1])
    assert second.data_dir != first.data_dir and second.socket_dir != first.socket_dir
    assert _select_one(first).startswith("3.") and _select_one(second).startswith("3.")
    assert localdb.status(homes[0])["running"] is True
    assert localdb.down(homes[0]) is True
    assert localdb.status(homes[0])["running"] is False
    assert localdb.down(homes[0]) is False
    assert _select_one(second)  # the other clone's cluster is untouched


def test_cli_db_commands(homes: list[Path]) -> None:
    env = {**os.environ, "GRIDGEO_HOME": str(homes[0])}
    env.pop("GRIDGEO_DATABASE_URL", None)
    cli = [sys.executable, "-m", "gridgeo.cli"]
    for _ in range(2):
        result = subprocess.run([*cli, "db", "up"], env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    result = subprocess.run([*cli, "db", "upgrade"], env=env, capture_output=True, text=True)
    assert result.returncode == 0 and re.search(r"schema at revision \d{4}", result.stdout)
    result = subprocess.run([*cli, "db", "status"], env=env, capture_output=True, text=True)
    assert '"running": true' in result.stdout and '"postgis": "3.' in result.stdout
    result = subprocess.run([*cli, "db", "down"], env=env, capture_output=True, text=True)
    assert result.returncode == 0 and "stopped" in result.stdout
    result = subprocess.run(
        [*cli, "users", "add", "x", "--role", "planner"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "database" in result.stderr.lower() and "Traceback" not in result.stderr
