"""Schemathesis over every operation of ``/openapi.json`` against a real uvicorn server.

Bounded and reproducible: a fixed number of generated requests per operation
(:data:`EXAMPLES`, fewer for the heavy map and analysis pages), derandomized
Hypothesis, a private copy of the sample city with a few events and one user
per role. Each request goes anonymously, as an admin or as a worker (drawn
by Hypothesis), so both the 401 answers and the authenticated code paths are
exercised. The run must end with 0 server errors and 0 responses that break
their documented schema; the total request count is printed.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
import shapely
import uvicorn
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from api.app import create_app
from gridgeo.settings import Settings
from gridgeo.store import events as event_store
from gridgeo.store.units import read_units
from gridgeo.store.users import add_user

EXAMPLES = 30
"""Generated requests per operation."""
FEW = 6
HEAVY = {
    # whole-city pages and analyses: a few requests are enough to cover them
    ("GET", "/maps/grids"): FEW,
    ("GET", "/maps/hotspots"): FEW,
    ("GET", "/maps/emerging"): FEW,
    ("GET", "/maps/coverage"): FEW,
    ("GET", "/v1/analytics/hotspots"): FEW,
    ("GET", "/v1/analytics/emerging"): FEW,
    ("GET", "/v1/grids"): FEW * 2,
    ("GET", "/v1/generations/{ref}/export"): FEW * 2,
}
KNOWN_500: dict[tuple[str, str], str] = {
    # 500s that the other part of issue 12 (inputs that must never give 500)
    # removes; delete an entry once its fix is merged.
}
"""(method, path) → reason: server errors tolerated (reported, not failed) until fixed."""
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    status_code_conformance,
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def fuzz_city(fresh_city_url: str) -> dict[str, str]:
    """Users per role and a few events (one per grid of the first ten) in a private city."""
    engine = create_engine(fresh_city_url, poolclass=NullPool)
    tokens: dict[str, str] = {}
    with Session(engine) as session, session.begin():
        grids = read_units(session, 1, level="grid")
        grids = grids[grids["kind"] == "base"].head(10)
        for role in ("planner", "analyst", "admin"):
            tokens[role] = add_user(session, f"fuzz-{role}", role)[1]
        tokens["worker"] = add_user(session, "fuzz-worker", "worker", [grids.iloc[0]["code"]])[1]
        for i, grid in enumerate(grids.itertuples()):
            point = shapely.point_on_surface(grid.geometry)
            event_store.create_event(
                session,
                category_code="S0101",
                lon=point.x,
                lat=point.y,
                crs="wgs84",
                source="patrol",
                owner_code=grid.code,
                generation_id=1,
                description=f"fuzz event {i} 井盖缺失",
                reporter="fuzz-admin",
                external_id=f"fuzz-{i}",
            )
    engine.dispose()
    return tokens


@pytest.fixture
def fuzz_server(fresh_city_url: str, fuzz_city: dict[str, str]) -> Iterator[str]:
    """The app on a real uvicorn server on a loopback port."""
    settings = Settings(database_url=fresh_city_url, index_refresh_seconds=3600, batch_limit=1000)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="critical")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return " | ".join(line for line in text[:6] if line.strip())[:600]


def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    fuzz_server: str, fuzz_city: dict[str, str]
) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzz_server}/openapi.json")
    http = requests.Session()
    requests_sent: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    failures: dict[str, list[str]] = {}
    tolerated: dict[str, list[str]] = {}
    auth = st.sampled_from([None, fuzz_city["admin"], fuzz_city["worker"], fuzz_city["analyst"]])
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an Err would raise here
        operations += 1
        key = (operation.method.upper(), operation.path)
        name = f"{key[0]} {key[1]}"

        def fuzz(operation: Any, key: tuple[str, str], name: str) -> None:
            @hypothesis.settings(
                max_examples=HEAVY.get(key, EXAMPLES),
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=list(hypothesis.HealthCheck),
                phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
            )
            @hypothesis.given(case=operation.as_strategy(), token=auth)
            def run(case: Any, token: str | None) -> None:
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                response = case.call(
                    base_url=fuzz_server, session=http, headers=headers, timeout=120
                )
                requests_sent[name] += 1
                statuses[response.status_code] += 1
                try:
                    case.validate_response(response, checks=CHECKS, headers=headers)
                except (Exception, BaseExceptionGroup) as error:  # noqa: BLE001 - reported below
                    where = tolerated if key in KNOWN_500 else failures
                    where.setdefault(name, []).append(
                        f"{response.status_code} {response.request.url}: {_describe(error)}"
                    )

            run()

        fuzz(operation, key, name)
    total = sum(requests_sent.values())
    print(
        f"\nschemathesis: {total} requests over {operations} operations; "
        f"statuses {dict(sorted(statuses.items()))}"
    )
    for name, problems in sorted(tolerated.items()):
        method, _, path = name.partition(" ")
        print(
            f"tolerated ({KNOWN_500[(method, path)]}): {name}: {len(problems)} failures, "
            f"e.g. {problems[0]}"
        )
    assert operations >= 35 and len(requests_sent) == operations
    report = {name: (len(p), p[:3]) for name, p in failures.items()}
    assert not failures, report
