"""Authentication, roles and tenant scope on every endpoint (both engines)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.schema import failure_matches
from queries.accounts import revoke_token
from tests.api.conftest import auth
from tests.support.failures import event, ingest

PROTECTED = [
    ("GET", "/api/v1/failures", None),
    ("GET", "/api/v1/failures/stats", None),
    ("GET", "/api/v1/failures/unrecovered", None),
    ("GET", "/api/v1/failures/00000000-0000-0000-0000-000000000000", None),
    ("PATCH", "/api/v1/failures/00000000-0000-0000-0000-000000000000/recovery", {"recovery_succeeded": True}),
    ("POST", "/api/v1/failures", {"tenant_id": "t1", "run_id": "r", "error_message": "x"}),
    ("GET", "/api/v1/features", None),
    ("PATCH", "/api/v1/features/failure_catalog_m9", {"enabled": True}),
]


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
def test_401_without_or_with_bad_token(client, tokens, method, path, body):
    for headers in ({}, {"Authorization": "Bearer fct_nope"}, {"Authorization": "Basic abc"},
                    {"Authorization": "Bearer " + "x" * 2000}):
        r = client.request(method, path, json=body, headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.json()["detail"]
        assert r.headers["www-authenticate"] == "Bearer"


def test_revoked_token_is_refused(client, engine, tokens):
    assert client.get("/api/v1/failures", headers=auth(tokens["viewer"])).status_code == 200
    with engine.begin() as conn:
        revoke_token(conn, name="viewer-all")
    assert client.get("/api/v1/failures", headers=auth(tokens["viewer"])).status_code == 401


def test_role_rules(client, engine, tokens):
    fid = ingest(engine, [event("t1")])[0]
    mark = {"recovery_succeeded": True, "recovered_by": "ops"}
    flag = {"enabled": True}
    ev = {"tenant_id": "t1", "run_id": "r", "error_message": "read timed out"}
    for role in ("viewer", "oncall", "admin"):
        h = auth(tokens[role])
        for path in ("/api/v1/failures", "/api/v1/failures/stats", "/api/v1/failures/unrecovered",
                     f"/api/v1/failures/{fid}", "/api/v1/features"):
            assert client.get(path, headers=h).status_code == 200, (role, path)
        r = client.patch(f"/api/v1/failures/{fid}/recovery", json=mark, headers=h)
        assert r.status_code == (403 if role == "viewer" else 200), (role, r.text)
        r = client.post("/api/v1/failures", json=ev, headers=h)
        assert r.status_code == (200 if role == "admin" else 403), (role, r.text)
        r = client.patch("/api/v1/features/failure_catalog_m9", json=flag, headers=h)
        assert r.status_code == (200 if role == "admin" else 403), (role, r.text)
        if r.status_code == 403:
            assert role in r.json()["detail"]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(failure_matches)).scalar() == 2


def test_tenant_scoped_token_sees_only_its_tenant(client, engine, tokens):
    ids = ingest(engine, [event("t1"), event("t2"), event("t2", minutes_ago=9)])
    h1 = auth(tokens["viewer@t1"])
    r = client.get("/api/v1/failures", headers=h1)
    assert r.status_code == 200
    assert [f["id"] for f in r.json()["failures"]] == [ids[0]] and r.json()["total"] == 1
    assert client.get("/api/v1/failures?tenant_id=t1", headers=h1).status_code == 200
    for path in ("/api/v1/failures?tenant_id=t2", "/api/v1/failures/stats?tenant_id=t2",
                 "/api/v1/failures/unrecovered?tenant_id=t2"):
        r = client.get(path, headers=h1)
        assert r.status_code == 403 and "tenant" in r.json()["detail"], path
    assert client.get("/api/v1/failures/stats", headers=h1).json()["total_failures"] == 1
    assert [f["id"] for f in client.get("/api/v1/failures/unrecovered", headers=h1).json()["failures"]] == [ids[0]]
    # another tenant's failure is "not found", for reads and for marks
    assert client.get(f"/api/v1/failures/{ids[1]}", headers=h1).status_code == 404
    r = client.patch(f"/api/v1/failures/{ids[1]}/recovery", json={"recovery_succeeded": True},
                     headers=auth(tokens["oncall@t1"]))
    assert r.status_code == 404
    with engine.connect() as conn:
        versions = select(failure_matches.c.version).where(failure_matches.c.tenant_id == "t2")
        assert conn.execute(versions).scalars().all() == [1, 1]


def test_all_tenant_token_filters_by_tenant(client, engine, tokens):
    ids = ingest(engine, [event("t1"), event("t2"), event("t2", minutes_ago=9)])
    h = auth(tokens["viewer"])
    assert client.get("/api/v1/failures", headers=h).json()["total"] == 3
    got = client.get("/api/v1/failures?tenant_id=t2", headers=h).json()
    assert [f["id"] for f in got["failures"]] == ids[1:] and got["total"] == 2
    assert client.get("/api/v1/failures/stats?tenant_id=t2", headers=h).json()["total_failures"] == 2
    assert client.get(f"/api/v1/failures/{ids[1]}", headers=h).json()["tenant_id"] == "t2"


def test_tenant_scoped_admin_ingest(client, engine, tokens):
    h = auth(tokens["admin@t1"])
    r = client.post("/api/v1/failures", json={"run_id": "r", "error_message": "read timed out"}, headers=h)
    assert r.status_code == 200, r.text
    r = client.post("/api/v1/failures", json={"tenant_id": "t2", "run_id": "r", "error_message": "x"}, headers=h)
    assert r.status_code == 403
    with engine.connect() as conn:
        assert conn.execute(select(failure_matches.c.tenant_id)).scalars().all() == ["t1"]
