import time, json
from pathlib import Path
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from gridgeo.workflows import planner
from tests.boundaries.independent.district import write_district

def test_district(db, tmp_path):
    p = write_district(tmp_path / "d.gpkg")
    t = time.time()
    s = planner.import_boundaries(db, p, filename=p.name)
    print("import", time.time() - t, s.to_dict())
    t = time.time()
    r = planner.validate_generation(db, s.generation_id)
    print("validate", time.time() - t)
    print(r.to_text()[:3000])

def test_city(fresh_city_url, tmp_path):
    eng = create_engine(fresh_city_url)
    with Session(eng) as session, session.begin():
        t = time.time()
        out = planner.export_generation(session, 1, tmp_path / "g.gpkg")
        print("export", time.time() - t)
        t = time.time()
        s = planner.import_boundaries(session, out, filename=out.name)
        print("import", time.time() - t)
        t = time.time()
        r = planner.validate_generation(session, s.generation_id)
        print("validate", time.time() - t, r.to_text()[:500])
        t = time.time()
        body = planner.diff(session, 1, s.generation_id)
        print("diff", time.time() - t)
        print(json.dumps(body, default=str)[:1500])
        print(body.keys(), body.get("totals"))
    eng.dispose()
