"""Concurrent marks with If-Match (exactly one wins), and behaviour while the database is down."""
from __future__ import annotations

import threading
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

import loaders.ingest.pipeline
from api.app import create_app
from core.schema import failure_matches, recovery_events
from tests.api.conftest import auth
from tests.support.failures import event, ingest, make_token


def test_concurrent_marks_with_the_same_version_one_wins(engine):
    fid = ingest(engine, [event()])[0]
    token = make_token(engine, "oncall", None)
    app = create_app(engine=engine)
    n = 8
    barrier = threading.Barrier(n)
    codes: list[int] = []
    details: list[str] = []

    def mark(i: int) -> None:
        with TestClient(app) as c:
            barrier.wait()
            r = c.patch(f"/api/v1/failures/{fid}/recovery", headers={**auth(token), "If-Match": '"1"'},
                        json={"recovery_succeeded": i % 2 == 0, "recovered_by": f"user-{i}"})
            codes.append(r.status_code)
            if r.status_code == 409:
                details.append(r.json()["detail"])

    threads = [threading.Thread(target=mark, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200] + [409] * (n - 1), codes
    with engine.connect() as conn:
        winner = conn.execute(select(failure_matches.c.recovered_by, failure_matches.c.version)
                              .where(failure_matches.c.id == uuid.UUID(fid))).one()
        assert winner.version == 2
        assert conn.execute(select(func.count()).select_from(recovery_events)).scalar() == 1
    assert all(winner.recovered_by in d for d in details), (winner, details)


def test_outage_keeps_recent_tokens_and_spools_events(engine, monkeypatch, tmp_path):
    token = make_token(engine, "admin", None)
    with TestClient(create_app(engine=engine)) as c:
        assert c.get("/api/v1/features", headers=auth(token)).status_code == 200  # token seen while up

        def down(*_a, **_k):
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))

        monkeypatch.setattr("api.deps.authenticate_token", down)
        monkeypatch.setattr(loaders.ingest.pipeline.IngestPipeline, "_insert", lambda self, rows, **k: down())
        r = c.post("/api/v1/failures", json=[event(), event()], headers=auth(token))
        assert r.status_code == 202, r.text
        assert r.json()["spooled"] == 2 and [x["status"] for x in r.json()["results"]] == ["spooled", "spooled"]
        assert list((tmp_path / "spool").rglob("*")), "events were not written to the spool"
        # a token never seen before cannot be checked: 503, not 401
        r = c.get("/api/v1/failures", headers=auth("fct_never_seen"))
        assert r.status_code == 503 and r.json()["detail"]
