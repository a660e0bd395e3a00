"""Events over HTTP on the sample city: reporting, the closed loop, imports, indicators."""

from __future__ import annotations

import shapely
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gridgeo.store.units import read_units
from gridgeo.store.users import add_user
from tests.conftest import bearer


def _setup(db: Session) -> tuple[dict[str, str], shapely.Point, shapely.Point]:
    grids = read_units(db, 1, level="grid")
    grids = grids[grids["kind"] == "base"]
    mine, other = grids.iloc[0], grids.iloc[200]
    tokens = {}
    for role in ("admin", "analyst"):
        _, tokens[role] = add_user(db, f"e-{role}", role)
    _, tokens["worker"] = add_user(db, "e-worker", "worker", [mine["code"]])
    return tokens, shapely.point_on_surface(mine.geometry), shapely.point_on_surface(other.geometry)


def test_worker_reports_only_in_own_grid(city_client: TestClient, city_db: Session) -> None:
    tokens, inside, outside = _setup(city_db)
    body = {"category_code": "S0101", "lon": inside.x, "lat": inside.y, "source": "patrol"}
    response = city_client.post("/v1/events", json=body, headers=bearer(tokens["worker"]))
    assert response.status_code == 201, response.text
    event = response.json()["properties"]
    assert event["status"] == "reported" and event["owner_generation_id"] == "1"
    assert event["owner_code"].startswith(event["owner_code"][:15])
    assert event["history"][0]["action"] == "report"
    body.update(lon=outside.x, lat=outside.y)
    response = city_client.post("/v1/events", json=body, headers=bearer(tokens["worker"]))
    assert response.status_code == 403
    response = city_client.post("/v1/events", json=body, headers=bearer(tokens["analyst"]))
    assert response.status_code == 403
    response = city_client.post(
        "/v1/events", json={**body, "category_code": "X999"}, headers=bearer(tokens["admin"])
    )
    assert response.status_code == 422


def test_closed_loop_with_rework_and_defer(city_client: TestClient, city_db: Session) -> None:
    tokens, inside, _ = _setup(city_db)
    created = city_client.post(
        "/v1/events",
        headers=bearer(tokens["worker"]),
        json={"category_code": "S0101", "lon": inside.x, "lat": inside.y},
    ).json()
    event_id = created["id"]

    def act(action: str, role: str = "admin", **extra: object) -> dict:  # type: ignore[type-arg]
        response = city_client.post(
            f"/v1/events/{event_id}/actions",
            json={"action": action, **extra},
            headers=bearer(tokens[role]),
        )
        assert response.status_code == 200, (action, response.text)
        return response.json()["properties"]  # type: ignore[no-any-return]

    act("verify")
    registered = act("register")
    assert registered["due_at"] is not None
    act("dispatch")
    deferred = act("defer", hours=8)
    assert deferred["due_at"] > registered["due_at"] and deferred["deferred_hours"] == 8
    act("handle", "worker")
    act("feedback", "worker")
    assert act("rework")["status"] == "dispatched"
    act("handle", "worker")
    act("feedback", "worker")
    act("check")
    closed = act("close")
    assert closed["closed_at"] is not None and closed["status"] == "closed"
    final = act("evaluate", "analyst")
    assert final["status"] == "evaluated"
    assert [h["seq"] for h in final["history"]] == list(range(1, 14))
    illegal = city_client.post(
        f"/v1/events/{event_id}/actions",
        json={"action": "dispatch"},
        headers=bearer(tokens["admin"]),
    )
    assert illegal.status_code == 409
    assert "allowed" in illegal.json()["detail"]
    forbidden = city_client.post(
        f"/v1/events/{event_id}/actions", json={"action": "close"}, headers=bearer(tokens["worker"])
    )
    assert forbidden.status_code == 403


def test_bulk_import_is_idempotent_and_names_bad_rows(
    city_client: TestClient, city_db: Session
) -> None:
    tokens, inside, outside = _setup(city_db)
    csv = (
        "external_id,category_code,lon,lat,crs,source,reported_at\n"
        f"h-1,S0101,{inside.x},{inside.y},wgs84,hotline,2026-10-01T09:00:00+08:00\n"
        f"h-2,B0101,{outside.x},{outside.y},wgs84,resident,2026-10-02T10:00:00+08:00\n"
        "h-3,S0101,abc,30.1,wgs84,hotline,2026-10-02T10:00:00+08:00\n"
        f"h-4,S0101,{inside.x},{inside.y},wgs84,hotline,\n"
        f"h-5,NOPE,{inside.x},{inside.y},wgs84,hotline,2026-10-02T10:00:00+08:00\n"
    )
    files = {"file": ("events.csv", csv.encode(), "text/csv")}
    first = city_client.post("/v1/events/import", files=files, headers=bearer(tokens["admin"]))
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["stored"] == 2
    assert {r["row"]: r["reason"] for r in body["rejected"]} == {
        2: "lon/lat are not numbers",
        3: "missing reported_at",
        4: "unknown category_code",
    }
    second = city_client.post("/v1/events/import", files=files, headers=bearer(tokens["admin"]))
    assert second.json()["stored"] == 0 and second.json()["skipped_existing"] == 2
    strict = city_client.post(
        "/v1/events/import",
        files=files,
        data={"all_or_nothing": "true"},
        headers=bearer(tokens["admin"]),
    )
    assert strict.status_code == 422 and "row 2" in strict.json()["detail"]
    listed = city_client.get(
        "/v1/events", params={"category": "S0101"}, headers=bearer(tokens["analyst"])
    ).json()
    assert listed["total"] == 1


def test_indicators_and_overdue(city_client: TestClient, city_db: Session) -> None:
    tokens, inside, _ = _setup(city_db)
    csv = (
        "external_id,category_code,lon,lat,reported_at\n"
        f"i-1,S0101,{inside.x},{inside.y},2026-10-01T09:00:00+08:00\n"
    )
    city_client.post(
        "/v1/events/import",
        headers=bearer(tokens["admin"]),
        files={"file": ("e.csv", csv.encode(), "text/csv")},
    )
    analyst = bearer(tokens["analyst"])
    event_id = city_client.get("/v1/events", headers=analyst).json()["features"][0]["id"]
    for action in ("verify", "register", "dispatch"):
        city_client.post(
            f"/v1/events/{event_id}/actions",
            json={"action": action},
            headers=bearer(tokens["admin"]),
        )
    rows = city_client.get(
        "/v1/indicators",
        params={
            "by": "street_code",
            "start": "2026-01-01T00:00:00+08:00",
            "end": "2027-01-01T00:00:00+08:00",
        },
        headers=analyst,
    ).json()
    assert len(rows) == 1 and rows[0]["registered"] == 1
    overdue = city_client.get("/v1/events/overdue", headers=analyst).json()
    assert [row["event_id"] for row in overdue] == []  # registered just now: not yet due
    # issue 12: times without a zone are local time in GRIDGEO_TIMEZONE (Asia/Shanghai)
    local = city_client.get(
        "/v1/indicators",
        params={"by": "street_code", "start": "2026-01-01T00:00:00", "end": "2027-01-01"},
        headers=analyst,
    )
    assert local.status_code == 200 and local.json() == rows
    bad = city_client.get(
        "/v1/indicators", params={"start": "2027-01-01", "end": "2026-01-01"}, headers=analyst
    )
    assert bad.status_code == 422


def test_redraw_split_creates_draft_with_lineage(city_client: TestClient, city_db: Session) -> None:
    _, planner_token = add_user(city_db, "r-planner", "planner")
    grids = read_units(city_db, 1, level="grid")
    village = grids[
        (grids["kind"] == "base")
        & ~grids["code"].isin(read_units(city_db, 1, level="microgrid")["parent_code"])
    ].iloc[0]
    minx, miny, maxx, maxy = village.geometry.bounds
    mid = (minx + maxx) / 2
    line = {"type": "LineString", "coordinates": [[mid, miny - 0.01], [mid, maxy + 0.01]]}
    response = city_client.post(
        "/v1/generations/1/redraw",
        headers=bearer(planner_token),
        json={"operation": "split", "code": village["code"], "geometry": line, "label": "split"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert len(body["notes"]["created"]) >= 2 and village["code"] in body["notes"]["retired"]
    history = city_client.get(f"/v1/codes/{body['notes']['created'][0]}/history").json()
    assert history["lineage"][0]["relation"] == "split_from"
    assert history["lineage"][0]["related_code"] == village["code"]
    report = city_client.post(
        "/v1/generations/split/validate", headers=bearer(planner_token)
    ).json()
    assert not [i for i in report["issues"] if i["severity"] == "error"]
    bad = city_client.post(
        "/v1/generations/1/redraw",
        headers=bearer(planner_token),
        json={"operation": "merge", "codes": [village["code"]]},
    )
    assert bad.status_code == 422
