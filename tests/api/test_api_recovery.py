"""PATCH /api/v1/failures/{id}/recovery: state, history, rollups, counters, If-Match and replays."""
from __future__ import annotations

import uuid

from sqlalchemy import func, select

from core.schema import failure_matches, failure_rollups, recovery_events
from tests.api.conftest import auth
from tests.support.failures import event, ingest

MARK_OK = {"recovery_succeeded": True, "recovered_by": "ops-team", "notes": "Manually resolved by restarting service"}
MARK_FAIL = {"recovery_succeeded": False, "recovered_by": "ops-team", "notes": "Requires code fix - escalating to dev"}


def _db(engine, fid):
    with engine.connect() as conn:
        row = conn.execute(select(failure_matches).where(failure_matches.c.id == fid)).mappings().one()
        history = conn.execute(select(recovery_events).where(recovery_events.c.failure_id == fid)
                               .order_by(recovery_events.c.id)).mappings().all()
        roll = conn.execute(select(func.sum(failure_rollups.c.recovery_attempts),
                                   func.sum(failure_rollups.c.recovery_successes))).one()
    return row, history, tuple(int(x or 0) for x in roll)


def _counter(metrics, name, code="NET_TIMEOUT", mode="RETRY_WITH_JITTER"):
    return metrics.registry.get_sample_value(name, {"recovery_mode": mode, "error_code": code}) or 0.0


def test_mark_success_then_failed_writes_everything(client, engine, tokens, metrics):
    fid = ingest(engine, [event()])[0]

    h = auth(tokens["oncall"])
    r = client.patch(f"/api/v1/failures/{fid}/recovery", json=MARK_OK, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == 2 and r.headers["etag"] == '"2"' and body["changed"] is True
    assert body["recovery_status"] == "recovered" and body["recovered_by"] == "ops-team"
    row, history, roll = _db(engine, uuid.UUID(fid))
    assert (row["recovery_attempted"], row["recovery_succeeded"], row["version"]) == (True, True, 2)
    assert [(e["from_state"], e["to_state"], e["actor"], e["notes"]) for e in history] == [
        ("unrecovered", "recovered", "ops-team", MARK_OK["notes"])]
    assert roll == (1, 1)
    assert _counter(metrics, "recovery_success_total") == 1
    # the same body again: harmless (no new version, history row or count)
    r = client.patch(f"/api/v1/failures/{fid}/recovery", json=MARK_OK, headers=h)
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["changed"] is False
    assert len(_db(engine, uuid.UUID(fid))[1]) == 1 and _counter(metrics, "recovery_success_total") == 1
    # then failed
    r = client.patch(f"/api/v1/failures/{fid}/recovery", json=MARK_FAIL, headers=h)
    assert r.status_code == 200 and r.json()["version"] == 3 and r.json()["recovery_status"] == "failed"
    row, history, roll = _db(engine, uuid.UUID(fid))
    assert row["recovery_succeeded"] is False and [e["to_state"] for e in history] == ["recovered", "failed"]
    assert roll == (1, 0)
    assert _counter(metrics, "recovery_failure_total") == 1
    scraped = client.get("/metrics").text
    assert 'recovery_success_total{error_code="NET_TIMEOUT",recovery_mode="RETRY_WITH_JITTER"} 1.0' in scraped
    assert 'recovery_failure_total{error_code="NET_TIMEOUT",recovery_mode="RETRY_WITH_JITTER"} 1.0' in scraped


def test_if_match_conflict_names_who(client, engine, tokens):
    fid = ingest(engine, [event()])[0]
    h = auth(tokens["oncall"])
    etag = client.get(f"/api/v1/failures/{fid}", headers=h).headers["etag"]
    first = client.patch(f"/api/v1/failures/{fid}/recovery", headers={**h, "If-Match": etag},
                         json={"recovery_succeeded": True, "recovered_by": "alice"})
    assert first.status_code == 200
    second = client.patch(f"/api/v1/failures/{fid}/recovery", headers={**h, "If-Match": etag},
                          json={"recovery_succeeded": False, "recovered_by": "bob"})
    assert second.status_code == 409
    assert "alice" in second.json()["detail"] and "recovered" in second.json()["detail"]
    # alice's retry of her own request (same body, old version) is harmless, not a conflict
    again = client.patch(f"/api/v1/failures/{fid}/recovery", headers={**h, "If-Match": etag},
                         json={"recovery_succeeded": True, "recovered_by": "alice"})
    assert again.status_code == 200 and again.json()["changed"] is False
    ok = client.patch(f"/api/v1/failures/{fid}/recovery", headers={**h, "If-Match": first.headers["etag"]},
                      json={"recovery_succeeded": False, "recovered_by": "bob"})
    assert ok.status_code == 200 and ok.json()["version"] == 3
    for weak in ('W/"3"', "3", "*"):
        r = client.patch(f"/api/v1/failures/{fid}/recovery", headers={**h, "If-Match": weak},
                         json={"recovery_succeeded": False, "recovered_by": "bob"})
        assert r.status_code == 200, weak
    assert client.patch(f"/api/v1/failures/{fid}/recovery", headers={**h, "If-Match": "abc"},
                        json=MARK_OK).status_code == 400
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(recovery_events)).scalar() == 2


def test_recovered_by_defaults_to_token_name(client, engine, tokens):
    fid = ingest(engine, [event()])[0]
    r = client.patch(f"/api/v1/failures/{fid}/recovery", json={"recovery_succeeded": True},
                     headers=auth(tokens["oncall"]))
    assert r.json()["recovered_by"] == "token:oncall-all"


def test_bad_bodies_are_422(client, engine, tokens):
    fid = ingest(engine, [event()])[0]
    h = auth(tokens["oncall"])
    url = f"/api/v1/failures/{fid}/recovery"
    for body in ({}, {"recovery_succeeded": "perhaps"}, {"recovery_succeeded": 1},
                 {"recovery_succeeded": True, "recovered_by": ""},
                 {"recovery_succeeded": True, "recovered_by": "x" * 129}, {"recovery_succeeded": True, "extra": 1},
                 {"recovery_succeeded": True, "notes": "a\x00b"}, [1, 2], "text"):
        r = client.patch(url, json=body, headers=h)
        assert r.status_code == 422, (body, r.text)
    assert client.patch(url, content=b"{not json", headers={**h, "Content-Type": "application/json"}).status_code == 422
    assert client.patch("/api/v1/failures/zzz/recovery", json=MARK_OK, headers=h).status_code == 400
    assert client.patch("/api/v1/failures/6f1c1a9e-0000-4000-8000-000000000000/recovery", json=MARK_OK,
                        headers=h).status_code == 404
    with engine.connect() as conn:
        assert conn.execute(select(failure_matches.c.version)).scalar() == 1
