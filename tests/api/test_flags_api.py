"""Authenticity flags under review over HTTP: token-protected read, review, map page."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gridgeo.store.activity import insert_fixes
from gridgeo.store.flags import list_flags, save_flags
from gridgeo.tracks import authenticity_flags, clean_fixes, read_fixes, split_patrols
from tests.conftest import bearer
from tests.tracks import synth


def _replay_case(db: Session) -> int:
    rng = np.random.default_rng(11)
    g = synth.Grid("U0", 0.0, 0.0, 600.0, 100.0, "urban", "walk")
    src = synth.honest_patrol(rng, g, "WA", synth.DAY0, minutes=30, interval=15)[0]
    copy = src.copy()
    copy["worker_id"] = "WB"
    copy["t"] = copy["t"] + pd.Timedelta(days=3, minutes=7)
    copy["lon"] = copy["lon"] + rng.normal(0, 4e-5, len(copy))
    fixes = pd.concat([src, copy], ignore_index=True)
    insert_fixes(db, fixes)
    patrols = split_patrols(clean_fixes(fixes).fixes)
    flags = authenticity_flags(patrols, None, None, kinds=("replay",))
    assert flags["worker_id"].tolist() == ["WB"]
    assert save_flags(db, flags) == 1
    assert save_flags(db, flags) == 1  # refreshing keeps one row
    stored = list_flags(db, kind="replay")
    assert len(stored) == 1
    return int(stored[0]["id"])


def test_flag_read_and_review_need_an_analyst(client: TestClient, db: Session, tokens) -> None:
    flag_id = _replay_case(db)
    url = f"/v1/tracks/flags/{flag_id}"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=bearer(tokens["worker"])).status_code == 403
    assert client.get(url, headers=bearer(tokens["planner"])).status_code == 403
    body = client.get(url, headers=bearer(tokens["analyst"])).json()
    assert body["kind"] == "replay" and body["state"] == "open"
    assert body["evidence"]["source_worker_id"] == "WA"
    r = client.post(
        f"{url}/review",
        json={"state": "confirmed", "note": "same route to the second"},
        headers=bearer(tokens["analyst"]),
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["state"] == "confirmed" and done["reviewed_by"] == "test-analyst"
    assert done["reviewed_at"] and done["note"] == "same route to the second"
    again = client.get(url, headers=bearer(tokens["admin"])).json()
    assert again["state"] == "confirmed"
    bad = client.post(f"{url}/review", json={"state": "guilty"}, headers=bearer(tokens["admin"]))
    assert bad.status_code == 422
    assert client.post(f"{url}/review", json={"state": "dismissed"}).status_code == 401
    missing = client.get("/v1/tracks/flags/999999", headers=bearer(tokens["analyst"]))
    assert missing.status_code == 404


def test_flag_map_overlays_both_tracks(client: TestClient, db: Session, tokens) -> None:
    flag_id = _replay_case(db)
    assert client.get(f"/maps/flags/{flag_id}").status_code == 401
    page = client.get(f"/maps/flags/{flag_id}", headers=bearer(tokens["analyst"]))
    assert page.status_code == 200
    html = page.text
    assert "flagged" in html and "matched" in html and "WA" in html and "WB" in html
    assert "tile.openstreetmap" not in html  # offline without a basemap


def test_optional_phone_fields_are_stored(db: Session) -> None:
    csv = (
        b"worker_id,time,lng,lat,accuracy,speed,bearing,altitude,provider,mock,sats\n"
        b"W9,2026-10-01T08:00:00+08:00,120.27,30.17,5,1.2,90,12,GPS,true,9\n"
        b"W9,2026-10-01T08:00:10+08:00,120.27,30.17,5,,,,,,\n"
    )
    fixes = read_fixes(csv, filename="day.csv")
    assert insert_fixes(db, fixes) == 2
    row = db.execute(
        sa.text(
            "SELECT speed_mps, bearing_deg, altitude_m, provider, is_mock, satellites "
            "FROM track_fixes WHERE worker_id = 'W9' ORDER BY t"
        )
    ).all()
    assert row[0][0] == pytest.approx(1.2)
    assert tuple(row[0])[1:] == (90.0, 12.0, "gps", True, 9)
    assert tuple(row[1]) == (None, None, None, None, None, None)
