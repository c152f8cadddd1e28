"""/api/v1/groups refuses odd input with 4xx, never 500: ignore times and counts, crafted cursors, assignee words,
viewer assignees, recover_failures without a resolve; conflicts and refusals in the groups' own words; validation
errors do not echo large inputs (both engines)."""
from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from core.schema import failure_groups as g
from core.types import utcnow
from queries.accounts import create_user
from tests.api.conftest import auth
from tests.support.failures import event, ingest

MESSAGE = "widget {i} exploded in stage 3"


def _group(client, engine, tokens) -> dict:
    ingest(engine, [event("t1", code=None, message=MESSAGE.format(i=i), run_id=f"r{i}", minutes_ago=5 + i)
                    for i in range(3)])
    r = client.get("/api/v1/groups", headers=auth(tokens["viewer"]))
    assert r.status_code == 200 and r.json()["total"] == 1, r.text
    return r.json()["groups"][0]


def _patch(client, gid, token, body, **headers):
    return client.patch(f"/api/v1/groups/{gid}", json=body, headers={**auth(token), **headers})


def _cursor(parts) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


def test_ignore_until_is_iso_text_read_as_utc_in_the_future_and_within_a_year(client, engine, tokens):
    gid = _group(client, engine, tokens)["id"]
    naive = (utcnow() + timedelta(days=10)).replace(tzinfo=None, microsecond=0)
    r = _patch(client, gid, tokens["oncall"], {"state": "ignored", "ignore_until": naive.isoformat()})
    assert r.status_code == 200, r.text
    assert datetime.fromisoformat(r.json()["ignore_until"]) == naive.replace(tzinfo=UTC)
    with engine.connect() as conn:
        assert conn.execute(select(g.c.ignore_until).where(g.c.id == uuid.UUID(gid))).scalar_one() \
            == naive.replace(tzinfo=UTC)
    far = (utcnow() + timedelta(days=400)).isoformat()
    refused = {
        "9999-12-31T23:59:59-05:00": "range",  # past year 9999 once in UTC
        "9999-12-31T23:59:59+00:00": "365 days",
        far: "365 days",
        "2030-01-01": "date alone",
        4102444800: "ISO 8601",
        4102444800.5: "ISO 8601",
        "4102444800": "ISO 8601",
        True: "ISO 8601",
    }
    for value, words in refused.items():
        r = _patch(client, gid, tokens["oncall"], {"state": "ignored", "ignore_until": value})
        assert r.status_code == 422 and words in r.text, (value, r.text)


def test_ignore_count_is_a_strict_integer_and_messages_use_the_api_names(client, engine, tokens):
    gid = _group(client, engine, tokens)["id"]
    for value in ("3", 2.5, True, 0, 1_000_001):
        r = _patch(client, gid, tokens["oncall"], {"state": "ignored", "ignore_count": value})
        assert r.status_code == 422, (value, r.text)
    r = _patch(client, gid, tokens["oncall"], {"ignore_count": 3})
    assert r.status_code == 422
    assert r.json()["detail"] == "ignore_until and ignore_count go with state=ignored"
    for body in ({"recover_failures": True}, {"state": "ignored", "recover_failures": True},
                 {"state": "unresolved", "recover_failures": True}):
        r = _patch(client, gid, tokens["oncall"], body)
        assert r.status_code == 422 and r.json()["detail"] == "recover_failures goes with state=resolved", body
    r = _patch(client, gid, tokens["oncall"], {"state": "ignored", "ignore_count": 1_000_000})
    assert r.status_code == 200 and r.json()["ignore_until_count"] == 1_000_003


def test_crafted_cursors_are_422(client, engine, tokens):
    gid = _group(client, engine, tokens)["id"]
    h = auth(tokens["viewer"])
    crafted = [
        (["last_seen", "2026-01-01T00:00:00+00:00", 5], "last_seen"),
        (["last_seen", "2026-01-01T00:00:00+00:00", ["x"]], "last_seen"),
        (["last_seen", "9999-12-31T23:59:59-05:00", gid], "last_seen"),
        (["last_seen", "0001-01-01T00:00:00+14:00", gid], "last_seen"),
        (["last_seen", "1999-12-31T23:59:59+00:00", gid], "last_seen"),
        (["last_seen", "2026-01-01T00:00:00", gid], "last_seen"),  # naive
        (["last_seen", 1767225600, gid], "last_seen"),
        (["first_seen", "2026-01-01T00:00:00+00:00", "not-a-uuid"], "first_seen"),
        (["count", "5", gid], "count"),
        (["count", 5.5, gid], "count"),
        (["count", True, gid], "count"),
        (["count", -1, gid], "count"),
        (["count", 10**30, gid], "count"),
        (["count", 5], "count"),
        ({"sort": "count"}, "count"),
        (7, "count"),
        (None, "count"),
    ]
    for parts, sort in crafted:
        r = client.get("/api/v1/groups", params={"cursor": _cursor(parts), "sort": sort}, headers=h)
        assert r.status_code == 422 and "cursor is not valid" in r.json()["detail"], (parts, r.text)
    for raw in ("%%%", "\u00e9t\u00e9", base64.urlsafe_b64encode(b"\xff\xfe").decode()):
        r = client.get("/api/v1/groups", params={"cursor": raw}, headers=h)
        assert r.status_code == 422 and "cursor is not valid" in r.json()["detail"], raw
    ok = client.get("/api/v1/groups", params={"cursor": _cursor(["count", 2, gid]), "sort": "count"}, headers=h)
    assert ok.status_code == 200 and ok.json()["groups"] == []  # a well-formed cursor past the only group


def test_assignee_words_in_the_list_and_in_a_patch(client, engine, tokens):
    gid = _group(client, engine, tokens)["id"]
    with engine.begin() as conn:
        create_user(conn, name="ana", password="correct horse battery", role="oncall", tenant_id="t1")
    h = auth(tokens["oncall"])
    r = client.get("/api/v1/groups", params={"assignee": "me"}, headers=h)
    assert r.status_code == 422 and r.json()["detail"] == '"me" needs a user, not an API token'
    assert _patch(client, gid, tokens["oncall"], {"assignee": "ana"}).json()["assignee"] == "ana"
    assert client.get("/api/v1/groups", params={"assignee": "none"}, headers=h).json()["total"] == 0
    assert client.get("/api/v1/groups", params={"assignee": "ana"}, headers=h).json()["total"] == 1
    for unassign in (None, "", "  "):
        assert _patch(client, gid, tokens["oncall"], {"assignee": "ana"}).json()["assignee"] == "ana"
        r = _patch(client, gid, tokens["oncall"], {"assignee": unassign})
        assert r.status_code == 200 and r.json()["assignee"] is None, unassign
        assert client.get("/api/v1/groups", params={"assignee": "none"}, headers=h).json()["total"] == 1
    # In a PATCH "none" is a name like any other (accounts may be called so), not the list's word for nobody.
    r = _patch(client, gid, tokens["oncall"], {"assignee": "none"})
    assert r.status_code == 422 and r.json()["detail"] == "no account named 'none' can triage this group"


def test_only_accounts_that_may_triage_can_be_assigned_with_one_answer_for_all(client, engine, tokens):
    gid = _group(client, engine, tokens)["id"]
    with engine.begin() as conn:
        create_user(conn, name="vic", password="correct horse battery", role="viewer", tenant_id="t1")
        create_user(conn, name="val", password="correct horse battery", role="viewer", tenant_id=None)
        create_user(conn, name="bob", password="correct horse battery", role="oncall", tenant_id="t2")
        create_user(conn, name="ada", password="correct horse battery", role="admin", tenant_id=None)
    for name in ("vic", "val", "bob", "ghost"):
        r = _patch(client, gid, tokens["oncall"], {"assignee": name})
        assert r.status_code == 422 and r.json()["detail"] == f"no account named {name!r} can triage this group"
    assert _patch(client, gid, tokens["oncall"], {"assignee": "ada"}).json()["assignee"] == "ada"


def test_refusals_and_conflicts_speak_of_groups_and_of_versions(client, engine, tokens):
    group = _group(client, engine, tokens)
    gid, version = group["id"], group["version"]
    for token in ("viewer", "viewer@t1"):
        r = _patch(client, gid, tokens[token], {"state": "resolved"})
        assert r.status_code == 403 and r.json()["detail"] == "your role (viewer) does not allow you to triage groups"
    assert _patch(client, gid, tokens["oncall"], {"notes": "mine"}, **{"If-Match": str(version)}).status_code == 200
    stale = _patch(client, gid, tokens["oncall"], {"state": "resolved"}, **{"If-Match": str(version)})
    detail = stale.json()["detail"]
    assert stale.status_code == 409 and "someone else" not in detail
    assert detail.startswith(f"the group changed since you read it (now version {version + 1} instead of {version}")
    assert "last changed by token:oncall-all at " in detail


def test_validation_errors_do_not_echo_large_inputs(client, engine, tokens):
    gid = _group(client, engine, tokens)["id"]
    r = _patch(client, gid, tokens["oncall"], {"notes": "n" * 1_000_000})
    assert r.status_code == 422 and len(r.content) < 5_000
    (error,) = r.json()["detail"]
    assert error["loc"] == ["body", "notes"] and error["input"] == "n" * 200 + "…"
    r = _patch(client, gid, tokens["oncall"], {"k" * 100_000: 1})  # an unknown field's name is in loc
    assert r.status_code == 422 and len(r.content) < 5_000
    r = client.post("/api/v1/failures", json={"events": [{"tenant_id": "t1", "run_id": "r", "error_message": "m",
                                                          "context": {"x": "y" * 500_000}}] * 2},
                    headers=auth(tokens["admin"]))
    assert r.status_code == 422 and len(r.content) < 5_000, r.text[:500]
    short = _patch(client, gid, tokens["oncall"], {"state": "sideways"})
    assert short.status_code == 422 and short.json()["detail"][0]["input"] == "sideways"


def test_ignoring_a_regressed_group_acknowledges_the_regression(client, engine, tokens):
    gid = _group(client, engine, tokens)["id"]
    assert _patch(client, gid, tokens["oncall"], {"state": "resolved"}).status_code == 200
    ingest(engine, [event("t1", code=None, message=MESSAGE.format(i=10), run_id="back", minutes_ago=0)])
    back = client.get(f"/api/v1/groups/{gid}", headers=auth(tokens["viewer"])).json()
    assert (back["state"], back["regressed"]) == ("unresolved", True)
    with engine.connect() as conn:
        regressed_at = conn.execute(select(g.c.regressed_at).where(g.c.id == uuid.UUID(gid))).scalar_one()
    r = _patch(client, gid, tokens["oncall"], {"state": "ignored", "ignore_count": 1})
    assert r.status_code == 200 and (r.json()["state"], r.json()["regressed"]) == ("ignored", False)
    ingest(engine, [event("t1", code=None, message=MESSAGE.format(i=i), run_id=f"more{i}", minutes_ago=0)
                    for i in (11, 12)])
    with engine.connect() as conn:
        row = conn.execute(select(g.c.state, g.c.regressed, g.c.regressed_at).where(g.c.id == uuid.UUID(gid))).one()
    assert (row.state, row.regressed, row.regressed_at) == ("unresolved", False, regressed_at)
    assert client.get("/api/v1/groups", params={"state": "regressed"}, headers=auth(tokens["viewer"])).json()[
        "total"] == 0
