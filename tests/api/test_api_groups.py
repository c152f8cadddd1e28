"""/api/v1/groups: list, detail and triage with the failures' tokens, roles, tenant scope and 409s (both engines)."""
from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from core.schema import failure_matches as fm
from core.types import utcnow
from queries.accounts import create_user
from tests.api.conftest import auth
from tests.support.failures import event, ingest

REFUSED = "connect ECONNREFUSED 10.0.0.{i}:5432"
WIDGET = "widget {i} exploded in stage 3"


def _seed(engine) -> None:
    events = [event("t1", code=None, message=REFUSED.format(i=i), run_id=f"a{i}", minutes_ago=10 + i)
              for i in range(5)]
    events += [event("t1", code=None, message=WIDGET.format(i=i), run_id=f"b{i}", minutes_ago=30 + i)
               for i in range(3)]
    events += [event("t2", code=None, message=WIDGET.format(i=i), run_id=f"c{i}", minutes_ago=1 + i)
               for i in range(2)]
    ingest(engine, events)


def _groups(client, token, **params):
    r = client.get("/api/v1/groups", params=params, headers=auth(token))
    assert r.status_code == 200, r.text
    return r.json()


def test_list_filters_sorts_and_pages(client, engine, tokens):
    _seed(engine)
    body = _groups(client, tokens["viewer"])
    assert body["total"] == 3 and [g["count"] for g in body["groups"]] == [2, 5, 3]  # most recent first
    first = body["groups"][0]
    assert set(first) >= {"id", "tenant_id", "fingerprint", "error_code", "title", "state", "assignee", "first_seen",
                          "last_seen", "count", "regressed"}
    assert first["title"] == "widget <n> exploded in stage <n>" and first["state"] == "unresolved"
    assert [g["count"] for g in _groups(client, tokens["viewer"], sort="count")["groups"]] == [5, 3, 2]
    assert [g["tenant_id"] for g in _groups(client, tokens["viewer"], tenant_id="t2")["groups"]] == ["t2"]
    coded = _groups(client, tokens["viewer"], error_code="NET_CONNECTION_REFUSED")["groups"]
    assert [g["count"] for g in coded] == [5]
    pages, cursor = [], None
    while True:
        page = _groups(client, tokens["viewer"], limit=1, sort="count", **({"cursor": cursor} if cursor else {}))
        pages += [g["id"] for g in page["groups"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [g["id"] for g in _groups(client, tokens["viewer"], sort="count")["groups"]]
    bad = client.get("/api/v1/groups", params={"cursor": "nonsense", "sort": "count"}, headers=auth(tokens["viewer"]))
    assert bad.status_code == 422 and "cursor" in bad.json()["detail"]
    assert client.get("/api/v1/groups", params={"state": "sideways"}, headers=auth(tokens["viewer"])).status_code == 422


def test_tenant_scope_on_every_group_endpoint(client, engine, tokens):
    _seed(engine)
    t2 = _groups(client, tokens["viewer"], tenant_id="t2")["groups"][0]["id"]
    scoped = tokens["oncall@t1"]
    assert {g["tenant_id"] for g in _groups(client, scoped)["groups"]} == {"t1"}
    assert client.get("/api/v1/groups", params={"tenant_id": "t2"}, headers=auth(scoped)).status_code == 403
    assert client.get(f"/api/v1/groups/{t2}", headers=auth(scoped)).status_code == 404
    assert client.patch(f"/api/v1/groups/{t2}", json={"state": "resolved"}, headers=auth(scoped)).status_code == 404
    assert client.get(f"/api/v1/failures?group_id={t2}", headers=auth(scoped)).status_code == 404
    assert client.get(f"/api/v1/groups/{uuid.uuid4()}", headers=auth(scoped)).status_code == 404
    assert client.get("/api/v1/groups/not-a-uuid", headers=auth(scoped)).status_code == 400
    assert client.get("/api/v1/groups").status_code == 401


def test_roles(client, engine, tokens):
    _seed(engine)
    gid = _groups(client, tokens["viewer"])["groups"][0]["id"]
    r = client.patch(f"/api/v1/groups/{gid}", json={"state": "resolved"}, headers=auth(tokens["viewer"]))
    assert r.status_code == 403
    for role in ("oncall", "admin"):
        r = client.patch(f"/api/v1/groups/{gid}", json={"notes": f"seen by {role}"}, headers=auth(tokens[role]))
        assert r.status_code == 200, r.text


def test_triage_with_if_match_conflicts_history_and_failures(client, engine, tokens):
    _seed(engine)
    with engine.begin() as conn:
        create_user(conn, name="ana", password="correct horse battery", role="oncall", tenant_id="t1")
        create_user(conn, name="bob", password="correct horse battery", role="oncall", tenant_id="t2")
    h = auth(tokens["oncall"])
    group = next(g for g in _groups(client, tokens["viewer"])["groups"] if g["count"] == 5)
    gid, version = group["id"], group["version"]
    r = client.patch(f"/api/v1/groups/{gid}", json={"assignee": "bob"}, headers=h)
    assert r.status_code == 422 and "can triage this group" in r.json()["detail"]  # bob cannot see t1
    assert client.patch(f"/api/v1/groups/{gid}", json={"assignee": "me"}, headers=h).status_code == 422  # a token
    r = client.patch(f"/api/v1/groups/{gid}", json={"assignee": "ana"}, headers={**h, "If-Match": f'"{version}"'})
    assert r.status_code == 200 and r.json()["assignee"] == "ana" and r.headers["etag"] == f'"{version + 1}"'
    stale = client.patch(f"/api/v1/groups/{gid}", json={"state": "resolved"}, headers={**h, "If-Match": str(version)})
    assert stale.status_code == 409 and "changed since you read it" in stale.json()["detail"]
    same = client.patch(f"/api/v1/groups/{gid}", json={"assignee": "ana"}, headers={**h, "If-Match": str(version)})
    assert same.status_code == 200 and same.json()["changed"] is False  # exactly what it already has: no conflict
    detail = client.get(f"/api/v1/groups/{gid}", headers=h).json()
    assert detail["open_failures"] == 5 and sum(detail["daily"]) == 5 and len(detail["daily"]) == 14
    r = client.patch(f"/api/v1/groups/{gid}", json={"state": "resolved", "recover_failures": True},
                     headers={**h, "If-Match": str(detail["version"])})
    assert r.status_code == 200 and (r.json()["state"], r.json()["recovered"]) == ("resolved", 5)
    with engine.connect() as conn:
        recovered = conn.execute(select(fm.c.recovery_succeeded).where(fm.c.tenant_id == "t1",
                                                                      fm.c.error_code == "NET_CONNECTION_REFUSED"))
        assert all(v is True for v in recovered.scalars())
    history = client.get(f"/api/v1/groups/{gid}", headers=h).json()["history"]
    assert [(e["action"], e["to_value"]) for e in history] == [("assignee", "ana"), ("state", "resolved")]
    listed = client.get("/api/v1/failures", params={"group_id": gid}, headers=h).json()
    assert listed["total"] == 5 and {f["group_id"] for f in listed["failures"]} == {gid}
    bad = client.get("/api/v1/failures", params={"group_id": "not-a-group"}, headers=h)
    assert bad.status_code == 422 and "group id" in bad.json()["detail"]  # a bad filter, like every other
    assert client.get("/api/v1/groups/not-a-group", headers=h).status_code == 400  # a bad path id, like failures
    # The error comes back: the group reopens, regressed.
    ingest(engine, [event("t1", code=None, message=REFUSED.format(i=99), run_id="late", minutes_ago=0)])
    again = client.get(f"/api/v1/groups/{gid}", headers=h).json()
    assert (again["state"], again["regressed"], again["count"]) == ("unresolved", True, 6)
    assert _groups(client, tokens["viewer"], state="regressed")["groups"][0]["id"] == gid


def test_ignore_for_a_count_or_until_a_time(client, engine, tokens):
    _seed(engine)
    h = auth(tokens["oncall"])
    gid = next(g["id"] for g in _groups(client, tokens["viewer"], tenant_id="t1")["groups"] if g["count"] == 3)
    past = (utcnow() - timedelta(hours=1)).isoformat()
    r = client.patch(f"/api/v1/groups/{gid}", json={"state": "ignored", "ignore_until": past}, headers=h)
    assert r.status_code == 422 and "future" in r.json()["detail"]
    r = client.patch(f"/api/v1/groups/{gid}", json={"state": "ignored", "ignore_count": 1}, headers=h)
    assert r.status_code == 200 and (r.json()["state"], r.json()["ignore_until_count"]) == ("ignored", 4)
    assert _groups(client, tokens["viewer"], state="ignored")["total"] == 1
    ingest(engine, [event("t1", code=None, message=WIDGET.format(i=7), run_id="x1", minutes_ago=0)])
    assert client.get(f"/api/v1/groups/{gid}", headers=h).json()["state"] == "ignored"
    ingest(engine, [event("t1", code=None, message=WIDGET.format(i=8), run_id="x2", minutes_ago=0)])
    assert client.get(f"/api/v1/groups/{gid}", headers=h).json()["state"] == "unresolved"
