"""GET /api/v1/failures, /{id}, /stats, /unrecovered: answers checked against the database rows."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from core.types import utcnow
from tests.api.conftest import auth
from tests.support.failures import add_critical_entry, all_rows, event, hours_ago, ingest, mixed_events


def _newest_first(rows):
    return [str(r["id"]) for r in sorted(rows, key=lambda r: (r["created_at"], str(r["id"])), reverse=True)]


def test_list_defaults_filters_and_cursor(client, engine, tokens):
    ingest(engine, mixed_events())
    rows = all_rows(engine)
    h = auth(tokens["viewer"])
    last24 = [r for r in rows if r["created_at"] >= hours_ago(24)]
    body = client.get("/api/v1/failures", headers=h).json()
    assert set(body) == {"failures", "total", "limit", "next_cursor"}
    assert body["total"] == len(last24) and body["limit"] == 100 and body["next_cursor"] is None
    assert [f["id"] for f in body["failures"]] == _newest_first(last24)
    # keyset paging over everything in the last 48 hours
    seen, cursor = [], None
    while True:
        params = {"since_hours": 48, "limit": 6, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/failures", params=params, headers=h).json()
        seen += [f["id"] for f in page["failures"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == _newest_first(rows)
    offset_page = client.get("/api/v1/failures", params={"since_hours": 48, "limit": 5, "offset": 5}, headers=h)
    assert [f["id"] for f in offset_page.json()["failures"]] == _newest_first(rows)[5:10]
    # filters, comma-separated or repeated
    r = client.get("/api/v1/failures?since_hours=48&error_code=NET_TIMEOUT,NET_CONNECTION_REFUSED", headers=h).json()
    assert r["total"] == sum(1 for x in rows if x["error_code"] in ("NET_TIMEOUT", "NET_CONNECTION_REFUSED"))
    r2 = client.get("/api/v1/failures?since_hours=48&error_code=NET_TIMEOUT&error_code=NET_CONNECTION_REFUSED",
                    headers=h).json()
    assert r2["total"] == r["total"]
    r = client.get("/api/v1/failures", params={"since_hours": 48, "matched": "false"}, headers=h).json()
    assert r["total"] == sum(1 for x in rows if x["catalog_entry_id"] is None)
    r = client.get("/api/v1/failures", params={"since_hours": 48, "skill_id": "db", "q": "econnrefused"},
                   headers=h).json()
    assert r["total"] == sum(1 for x in rows if x["skill_id"] == "db") > 0
    r = client.get("/api/v1/failures", params={"since_hours": 48, "run_id": "nope"}, headers=h).json()
    assert r["total"] == 0 and r["failures"] == []
    since, until = hours_ago(10), hours_ago(2)
    r = client.get("/api/v1/failures", params={"since": since.isoformat(), "until": until.isoformat(),
                                               "limit": 1000}, headers=h).json()
    assert [f["id"] for f in r["failures"]] == _newest_first([x for x in rows if since <= x["created_at"] < until])
    one = body["failures"][0]
    assert one["created_at"].endswith(("+00:00", "Z")) and one["recovery_status"] == "unrecovered"


@pytest.mark.parametrize("query", [
    "limit=0", "limit=1001", "limit=abc", "cursor=garbage", "status=bogus", "since_hours=0", "since_hours=-1",
    "matched=maybe", "since=notadate", "offset=-1", "q=" + "x" * 201, "tenant_id=" + "t" * 65,
    "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "until=0001-01-01T00:00:00Z",
    "since=0001-01-01T00:00:00%2B05:00", "error_code=%00", "until=0.5", "since=1700000000",
    "since=-3.9e-245", "until=nan", "since=inf",
])
def test_bad_list_input_is_422_json(client, tokens, query):
    r = client.get(f"/api/v1/failures?{query}", headers=auth(tokens["viewer"]))
    assert r.status_code == 422, (query, r.text)
    assert "detail" in r.json()


def test_status_filters(client, engine, tokens):
    ids = ingest(engine, [event(minutes_ago=i + 1) for i in range(4)])
    h = auth(tokens["oncall"])
    assert client.patch(f"/api/v1/failures/{ids[0]}/recovery", json={"recovery_succeeded": True}, headers=h).is_success
    assert client.patch(f"/api/v1/failures/{ids[1]}/recovery", json={"recovery_succeeded": False}, headers=h).is_success

    def ids_for(status):
        return [f["id"] for f in client.get(f"/api/v1/failures?status={status}", headers=h).json()["failures"]]

    assert ids_for("recovered") == [ids[0]]
    assert ids_for("failed") == [ids[1]]
    assert ids_for("unrecovered") == ids[2:]
    assert ids_for("open") == ids[1:]
    assert ids_for("all") == ids


def test_detail_404_400_and_etag(client, engine, tokens):
    fid = ingest(engine, [event(context={"attempt": 2})])[0]
    h = auth(tokens["oncall"])
    r = client.get(f"/api/v1/failures/{fid}", headers=h)
    assert r.status_code == 200 and r.headers["etag"] == '"1"'
    body = r.json()
    row = [x for x in all_rows(engine) if str(x["id"]) == fid][0]
    assert body["error_code"] == row["error_code"] and body["context"] == {"attempt": 2} and body["history"] == []
    client.patch(f"/api/v1/failures/{fid}/recovery", json={"recovery_succeeded": False, "notes": "n1"}, headers=h)
    body = client.get(f"/api/v1/failures/{fid}", headers=h).json()
    assert [(e["from_state"], e["to_state"], e["notes"]) for e in body["history"]] == [("unrecovered", "failed", "n1")]
    assert client.get("/api/v1/failures/not-a-uuid", headers=h).status_code == 400
    assert client.get("/api/v1/failures/123", headers=h).json()["detail"]
    assert client.get("/api/v1/failures/" + "a" * 100, headers=h).status_code == 400
    r = client.get("/api/v1/failures/6f1c1a9e-0000-4000-8000-000000000000", headers=h)
    assert r.status_code == 404 and "not found" in r.json()["detail"]


def test_stats_against_rows(client, engine, tokens):
    add_critical_entry(engine)
    ids = ingest(engine, mixed_events())
    h = auth(tokens["oncall"])
    for i, ok in ((1, True), (2, False), (3, True), (6, True)):
        r = client.patch(f"/api/v1/failures/{ids[i]}/recovery", json={"recovery_succeeded": ok}, headers=h)
        assert r.is_success
    for tenant in (None, "t1"):
        params = {"since_hours": 24, **({"tenant_id": tenant} if tenant else {})}
        got = client.get("/api/v1/failures/stats", params=params, headers=h).json()
        start = hours_ago(24)
        sel = [r for r in all_rows(engine) if r["created_at"] >= start and (tenant is None or r["tenant_id"] == tenant)]
        matched = sum(r["catalog_entry_id"] is not None for r in sel)
        attempts = sum(bool(r["recovery_attempted"]) for r in sel)
        succ = sum(r["recovery_succeeded"] is True for r in sel)
        assert got["tenant_id"] == tenant
        assert (got["total_failures"], got["matched_failures"], got["unmatched_failures"]) == (
            len(sel), matched, len(sel) - matched)
        assert (got["recovery_attempts"], got["recovery_successes"]) == (attempts, succ)
        assert got["hit_rate"] == pytest.approx(matched / len(sel))
        assert got["recovery_success_rate"] == pytest.approx(succ / attempts if attempts else 0.0)
        codes = Counter(r["error_code"] for r in sel)
        assert {c["error_code"]: c["count"] for c in got["top_error_codes"]} == dict(codes)
        assert sum(got["by_severity"].values()) == len(sel)
        assert set(got["time_range"]) == {"start", "end"}


def test_unrecovered_endpoint(client, engine, tokens):
    add_critical_entry(engine)
    ids = ingest(engine, mixed_events())
    h = auth(tokens["oncall"])
    client.patch(f"/api/v1/failures/{ids[1]}/recovery", json={"recovery_succeeded": True}, headers=h)
    client.patch(f"/api/v1/failures/{ids[2]}/recovery", json={"recovery_succeeded": False}, headers=h)
    got = client.get("/api/v1/failures/unrecovered?since_hours=24&limit=50", headers=h).json()
    start = hours_ago(24)
    rows = [r for r in all_rows(engine) if r["created_at"] >= start and r["recovery_succeeded"] is not True]
    expected = [str(r["id"]) for r in sorted(rows, key=lambda r: (r["severity_rank"], -r["created_at"].timestamp()))]
    assert [f["id"] for f in got["failures"]] == expected[:50] and got["count"] == len(expected[:50])
    assert got["failures"][0]["severity"] == "critical"
    assert ids[2] in [f["id"] for f in got["failures"]] and ids[1] not in [f["id"] for f in got["failures"]]
    assert len(client.get("/api/v1/failures/unrecovered?limit=2", headers=h).json()["failures"]) == 2
    assert client.get("/api/v1/failures/unrecovered?limit=0", headers=h).status_code == 422


def test_future_skewed_events_are_listed(client, engine, tokens):
    # Runtimes' clocks may run a few minutes ahead; the default window has no upper bound.
    ev = event()
    ev["occurred_at"] = (utcnow() + timedelta(minutes=3)).isoformat()
    fid = ingest(engine, [ev])[0]
    h = auth(tokens["viewer"])
    assert [f["id"] for f in client.get("/api/v1/failures", headers=h).json()["failures"]] == [fid]
    assert [f["id"] for f in client.get("/api/v1/failures/unrecovered", headers=h).json()["failures"]] == [fid]


def test_each_failure_says_why_it_matched(client, engine, tokens):
    ids = ingest(engine, [event(code=None, message="pycurl.error: (28, 'Connection timed out after 300 milliseconds')"),
                          event(code=None, message="widget frobnication failed for batch 42")])
    h = auth(tokens["viewer"])
    hit, miss = (client.get(f"/api/v1/failures/{fid}", headers=h).json() for fid in ids)
    assert (hit["error_code"], hit["match_type"]) == ("NET_CONNECT_TIMEOUT", "signal")
    assert "timed out" in hit["match_reason"] and "rule" in hit["match_reason"]
    assert miss["match_type"] == "none" and miss["match_reason"].startswith("no catalog entry: read ")
    listed = client.get("/api/v1/failures", headers=h).json()["failures"]
    assert all(f["match_reason"] for f in listed)
