"""POST /api/v1/failures (one, batch, list, limits, flag off), /features, /metrics, /healthz, /readyz."""
from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from core.db import make_engine
from core.schema import failure_matches, feature_flags
from core.settings import get_settings
from tests.api.conftest import auth
from tests.support.failures import event


def _count(engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(failure_matches)).scalar())


def test_post_one_batch_and_list(client, engine, tokens, metrics):
    h = auth(tokens["admin"])
    r = client.post("/api/v1/failures", json=event(message="connect ECONNREFUSED 10.1.1.1:80", code=None), headers=h)
    assert r.status_code == 200, r.text
    one = r.json()
    assert (one["received"], one["inserted"], one["matched"]) == (1, 1, 1)
    assert one["results"][0]["status"] == "stored"
    r = client.post("/api/v1/failures", json={"events": [event(), {"tenant_id": "t1"}, event("t2")]}, headers=h)
    body = r.json()
    assert r.status_code == 200 and (body["received"], body["inserted"], body["rejected"]) == (3, 2, 1)
    assert [x["status"] for x in body["results"]] == ["stored", "rejected", "stored"]
    assert any("run_id" in e for e in body["results"][1]["errors"])
    r = client.post("/api/v1/failures", json=[event(), event()], headers=h)
    assert r.status_code == 200 and r.json()["inserted"] == 2
    stored = {x["id"] for x in body["results"] if x["id"]} | {one["results"][0]["id"]}
    with engine.connect() as conn:
        ids = {str(i) for i in conn.execute(select(failure_matches.c.id)).scalars()}
    assert stored <= ids and len(ids) == 5
    # re-sending an event with its id stores nothing twice
    ev = {**event(), "id": "6f1c1a9e-0000-4000-8000-0000000000aa"}
    client.post("/api/v1/failures", json=ev, headers=h)
    again = client.post("/api/v1/failures", json=ev, headers=h).json()
    assert again["duplicates"] == 1 and again["inserted"] == 0 and _count(engine) == 6
    assert metrics.registry.get_sample_value(
        "failure_match_hits_total", {"error_code": "NET_CONNECTION_REFUSED", "category": "TRANSIENT_NETWORK"}) == 1


def test_post_invalid_and_limits(client, engine, tokens, monkeypatch):
    h = auth(tokens["admin"])
    for body in ({"tenant_id": "t1"}, [], {"events": []}, {"events": "x"}, 5, [1, 2],
                 {**event(), "error_message": "a\x00b"}, {**event(), "context": {"k\x00": 1}}):
        r = client.post("/api/v1/failures", json=body, headers=h)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["detail"]
    monkeypatch.setenv("API_MAX_BATCH", "3")
    get_settings.cache_clear()
    r = client.post("/api/v1/failures", json=[event()] * 4, headers=h)
    assert r.status_code == 413 and "3" in r.json()["detail"]
    monkeypatch.setenv("API_MAX_BODY_BYTES", "2048")
    get_settings.cache_clear()
    big = {**event(), "error_message": "x" * 5000}
    r = client.post("/api/v1/failures", json=big, headers=h)
    assert r.status_code == 413 and r.json()["detail"]
    # a chunked body without Content-Length is counted too
    r = client.post("/api/v1/failures", content=iter([json.dumps(big).encode()]),
                    headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 413
    assert _count(engine) == 0


def test_flag_off_refuses_ingest_and_runbook_patch_without_content_type(client, engine, tokens):
    admin = auth(tokens["admin"])
    # exactly what the runbook's curl sends: -d without a Content-Type header (form-urlencoded)
    r = client.patch("/api/v1/features/failure_catalog_m9", content=b'{"enabled": false}',
                     headers={**admin, "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200, r.text
    assert r.json()["enabled"] is False and r.json()["updated_by"] == "token:admin-all"
    with engine.connect() as conn:
        assert conn.execute(select(feature_flags.c.enabled).where(
            feature_flags.c.name == "failure_catalog_m9")).scalar() is False
    r = client.post("/api/v1/failures", json=event(), headers=admin)
    assert r.status_code == 503 and "failure_catalog_m9" in r.json()["detail"]
    assert _count(engine) == 0
    flags = client.get("/api/v1/features", headers=auth(tokens["viewer"])).json()["features"]
    assert {"name": "failure_catalog_m9", "enabled": False} in [{k: f[k] for k in ("name", "enabled")} for f in flags]
    r = client.patch("/api/v1/features/failure_catalog_m9", content=b'{"enabled": true}', headers=admin)
    assert r.status_code == 200 and r.json()["enabled"] is True
    assert client.post("/api/v1/failures", json=event(), headers=admin).status_code == 200
    assert client.patch("/api/v1/features/nope", json={"enabled": True}, headers=admin).status_code == 404
    r = client.patch("/api/v1/features/failure_catalog_m9", json={"enabled": False}, headers=auth(tokens["admin@t1"]))
    assert r.status_code == 403 and "all tenants" in r.json()["detail"]
    for bad in (b"enabled=false", b'{"enabled": "maybe"}', b"{}", b'{"enabled": 0}', b'{"enabled": "false"}'):
        r = client.patch("/api/v1/features/failure_catalog_m9", content=bad,
                         headers={**admin, "Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 422, bad


def test_health_readiness_metrics(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "database": "ok"}
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert "# TYPE recovery_success_total counter" in r.text
    assert client.get("/openapi.json").json()["info"]["title"] == "Failure Catalog API"
    assert client.get("/docs").status_code == 200
    r = client.get("/nope")
    assert r.status_code == 404 and r.json()["detail"]


def test_database_down_is_503_json():
    dead = make_engine("postgresql://postgres@127.0.0.1:1/failcat_nowhere")
    with TestClient(create_app(engine=dead)) as c:
        r = c.get("/readyz")
        assert r.status_code == 503 and "database unavailable" in r.json()["detail"]
        assert c.get("/healthz").status_code == 200
        r = c.get("/api/v1/failures", headers={"Authorization": "Bearer fct_x"})
        assert r.status_code == 503 and r.json()["detail"]
    dead.dispose()


def test_unstorable_text_is_refused_not_500(client, engine, tokens):
    h = auth(tokens["admin"])
    for bad in ('{"tenant_id": "t1", "run_id": "r", "error_message": "x\\ud800y"}',
                '{"tenant_id": "t1", "run_id": "r", "error_message": "x", "context": {"a": "\\u0000"}}'):
        r = client.post("/api/v1/failures", content=bad.encode(), headers={**h, "Content-Type": "application/json"})
        assert r.status_code == 422, (bad, r.text)
    fid = client.post("/api/v1/failures", json=event(), headers=h).json()["results"][0]["id"]
    r = client.patch(f"/api/v1/failures/{fid}/recovery", headers={**h, "Content-Type": "application/json"},
                     content=b'{"recovery_succeeded": true, "notes": "\\ud800"}')
    assert r.status_code == 422
    assert client.patch("/api/v1/features/a%00b", json={"enabled": True}, headers=h).status_code == 404
    assert client.get("/api/v1/failures?q=%ED%A0%80", headers=h).status_code == 422
    assert _count(engine) == 1
    r = client.post("/api/v1/failures", content=b'{"tenant_id": "\\ud800", "run_id": "r", "error_message": "x"}',
                    headers={**auth(tokens["admin@t1"]), "Content-Type": "application/json"})
    assert r.status_code == 403 and r.json()["detail"]
