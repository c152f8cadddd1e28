"""The API against an attacker and a careless client: bad times, foreign ids, guessed tokens, revoked tokens
in an outage, one rule for time windows, and docs that work offline."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import OperationalError

import loaders.ingest.pipeline
from api.app import create_app
from cli import main as cli
from core.schema import failure_matches as fm
from core.types import utcnow
from loaders.ingest.pipeline import IngestPipeline
from queries.accounts import revoke_token
from tests.api.conftest import auth
from tests.support.failures import event, make_token

OUT_OF_RANGE = ["0001-01-01T00:00:00Z", "0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59-23:59"]


def _count(engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(fm)).scalar_one())


def _tables(engine) -> set[str]:
    with engine.connect() as conn:
        names = set(inspect(conn).get_table_names())
        if engine.dialect.name == "postgresql":
            names |= set(inspect(conn).get_table_names(schema="failcat_partitions"))
    return names


@pytest.mark.parametrize("when", OUT_OF_RANGE)
def test_an_out_of_range_time_is_refused_alone_and_the_batch_is_stored(client, tokens, engine, when):
    before = _tables(engine)
    batch = [event(run_id=f"good-{i}") for i in range(999)] + [event(run_id="bad", occurred_at=when)]
    r = client.post("/api/v1/failures", json={"events": batch}, headers=auth(tokens["admin"]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["inserted"], body["rejected"]) == (999, 1)
    bad = body["results"][999]
    assert bad["status"] == "rejected" and any(e.startswith("occurred_at:") for e in bad["errors"]), bad
    assert _count(engine) == 999
    assert _tables(engine) == before  # no partition for year 1 or 9999


@pytest.mark.parametrize(("when", "reason"), [
    (lambda: (utcnow() - timedelta(days=91)).isoformat(), "retention"),
    (lambda: (utcnow() - timedelta(days=365 * 76)).isoformat(), "retention"),
    (lambda: (utcnow() + timedelta(hours=1)).isoformat(), "future"),
    (lambda: 123, "ISO 8601"),
    (lambda: 1.7e9, "ISO 8601"),
    (lambda: "1700000000.5", "ISO 8601"),
    (lambda: True, "ISO 8601"),
])
def test_occurred_at_is_iso_text_within_retention_and_not_ahead(client, tokens, engine, when, reason):
    r = client.post("/api/v1/failures", json=event(occurred_at=when()), headers=auth(tokens["admin"]))
    assert r.status_code == 422, r.text
    assert reason in str(r.json()["detail"])
    assert _count(engine) == 0


def test_a_year_of_weekly_events_cannot_create_partitions(client, tokens, engine):
    before = _tables(engine)
    batch = [event(run_id=f"w{i}", occurred_at=f"1950-01-{1 + i % 28:02d}T00:00:00Z") for i in range(200)]
    r = client.post("/api/v1/failures", json=batch, headers=auth(tokens["admin"]))
    assert r.status_code == 422 and _count(engine) == 0
    assert _tables(engine) == before


def test_cli_ingest_refuses_the_bad_line_and_keeps_the_good_ones(engine, tmp_path):
    lines = [event(run_id="a"), event(run_id="b", occurred_at="0001-01-01T00:00:00Z"), event(run_id="c")]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(__import__("json").dumps(x) for x in lines) + "\n")
    result = CliRunner().invoke(cli, ["ingest", str(path), "--json"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert re.search(r"line 2: occurred_at: .*retention", result.stderr)
    assert _count(engine) == 2


def test_another_tenants_id_is_neither_revealed_nor_dropped(client, engine):
    acme, globex = make_token(engine, "admin", "acme"), make_token(engine, "admin", "globex")
    own_id = str(uuid.uuid4())
    first = client.post("/api/v1/failures", json=event("acme", id=own_id), headers=auth(acme)).json()
    assert first["inserted"] == 1
    stored_acme = first["results"][0]["id"]
    # globex sends the same id: it is globex's own failure, stored and answered like any new one.
    other = client.post("/api/v1/failures", json=event("globex", id=own_id), headers=auth(globex)).json()
    assert (other["inserted"], other["duplicates"]) == (1, 0)
    assert other["results"][0]["id"] != stored_acme
    never_seen = client.post("/api/v1/failures", json=event("globex", id=str(uuid.uuid4())),
                             headers=auth(globex)).json()
    assert {k: other[k] for k in ("inserted", "duplicates", "rejected")} == \
           {k: never_seen[k] for k in ("inserted", "duplicates", "rejected")}
    # acme resending its own id is still a duplicate, and acme's failure is untouched.
    again = client.post("/api/v1/failures", json=event("acme", id=own_id), headers=auth(acme)).json()
    assert (again["inserted"], again["duplicates"]) == (0, 1)
    assert client.get(f"/api/v1/failures/{stored_acme}", headers=auth(globex)).status_code == 404
    assert client.get(f"/api/v1/failures/{stored_acme}", headers=auth(acme)).json()["tenant_id"] == "acme"
    assert _count(engine) == 3


def test_guessed_tokens_are_throttled_by_address_with_retry_after(engine, metrics, monkeypatch):
    monkeypatch.setenv("AUTH_MAX_FAILURES_PER_ADDRESS", "5")
    from core.settings import get_settings
    get_settings.cache_clear()
    good = make_token(engine, "viewer", None)
    with TestClient(create_app(engine=engine, metrics=metrics)) as c:
        assert c.get("/api/v1/failures", headers=auth(good)).status_code == 200
        codes = [c.get("/api/v1/failures", headers=auth(f"fct_guess{i}")).status_code for i in range(8)]
        assert codes == [401] * 5 + [429] * 3
        r = c.get("/api/v1/failures", headers=auth("fct_guess_more"))
        assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= 900
        # Clients behind one proxy share an address: a valid token is never refused for it.
        assert c.get("/api/v1/failures", headers=auth(good)).status_code == 200
        assert c.get("/api/v1/failures").status_code == 429  # no token at all is one more failure
    sample = metrics.registry.get_sample_value
    assert sample("failcat_auth_failures_total", {"channel": "api", "outcome": "bad_credentials"}) == 5
    assert sample("failcat_auth_failures_total", {"channel": "api", "outcome": "throttled"}) == 5


def test_a_revoked_token_gets_no_outage_grace(engine, metrics, monkeypatch):
    token = make_token(engine, "admin", None, name="leaked")
    with TestClient(create_app(engine=engine, metrics=metrics)) as c:
        assert c.get("/api/v1/features", headers=auth(token)).status_code == 200  # cached as valid
        with engine.begin() as conn:
            revoke_token(conn, name="leaked")

        def down(*_a, **_k):
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))

        with monkeypatch.context() as m:
            m.setattr("api.deps.authenticate_token", down)
            m.setattr(loaders.ingest.pipeline.IngestPipeline, "_insert", lambda self, rows, **k: down())
            assert c.get("/api/v1/failures", headers=auth(token)).status_code == 503  # reads get no grace
            r = c.post("/api/v1/failures", json=[event(), event()], headers=auth(token))
            assert r.status_code == 202 and r.json()["spooled"] == 2
        replay = IngestPipeline(engine, metrics=metrics).replay_spool()
        assert (replay.inserted, replay.refused) == (0, 2)
        assert _count(engine) == 0
        assert c.post("/api/v1/failures", json=event(), headers=auth(token)).status_code == 401


@pytest.mark.parametrize("path", ["/api/v1/failures", "/api/v1/failures/stats", "/api/v1/failures/unrecovered"])
@pytest.mark.parametrize("since", ["9999-12-31T23:59:59Z", "2999-01-01T00:00:00Z"])
def test_a_window_starting_in_the_future_is_refused_by_every_endpoint(client, tokens, path, since):
    r = client.get(path, params={"since": since}, headers=auth(tokens["viewer"]))
    assert r.status_code == 422, (path, r.text)
    assert "future" in r.json()["detail"]


def test_docs_load_their_assets_from_the_api_itself(client):
    html = client.get("/docs").text
    assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", html)
    assert assets and all(a.startswith("/") for a in assets), assets
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert "cdn" not in html.lower()
    assert '"validatorUrl": null' in html  # no badge that sends the spec's address to validator.swagger.io
    assert client.get("/redoc").status_code == 404  # ReDoc's bundle fetches its logo from a CDN


@pytest.mark.parametrize("actor", ["\u001e", "\u001c\u001f", "ops\nteam", "ops\u0007"])
def test_a_recovered_by_of_control_characters_is_a_clear_422(client, tokens, engine, actor):
    r = client.post("/api/v1/failures", json=event(), headers=auth(tokens["admin"]))
    fid = r.json()["results"][0]["id"]
    r = client.patch(f"/api/v1/failures/{fid}/recovery", json={"recovery_succeeded": True, "recovered_by": actor},
                     headers=auth(tokens["oncall"]))
    assert r.status_code == 422, r.text
    assert "control characters" in r.text


def test_a_date_alone_is_not_a_time(client, tokens, engine):
    r = client.post("/api/v1/failures", json=event(occurred_at=utcnow().date().isoformat()),
                    headers=auth(tokens["admin"]))
    assert r.status_code == 422 and "date alone" in r.text
    assert _count(engine) == 0


def _nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


@pytest.mark.parametrize("context", [f'{{"a": {_nested(40)}}}', f'{{"a": {_nested(600)}}}',
                                     '{"x": NaN}', '{"x": [Infinity]}', '{"x": 1e400}'])
def test_a_context_too_deep_or_not_finite_is_refused_alone(client, tokens, engine, context):
    good = __import__("json").dumps(event(run_id="good"))
    bad = __import__("json").dumps(event(run_id="bad"))[:-1] + f', "context": {context}}}'
    r = client.post("/api/v1/failures", content=f'{{"events": [{bad}, {good}]}}',
                    headers={**auth(tokens["admin"]), "Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["inserted"], body["rejected"]) == (1, 1)
    assert any(e.startswith("context:") for e in body["results"][0]["errors"]), body["results"][0]
    listed = client.get("/api/v1/failures", headers=auth(tokens["viewer"]))
    assert listed.status_code == 200 and [f["run_id"] for f in listed.json()["failures"]] == ["good"]


def test_a_body_nested_past_the_parser_is_a_clear_4xx(client, tokens, engine):
    r = client.post("/api/v1/failures", content=f'{{"events": [{{"context": {_nested(100_000)}}}]}}',
                    headers={**auth(tokens["admin"]), "Content-Type": "application/json"})
    assert 400 <= r.status_code < 500, r.text
    assert _count(engine) == 0


def test_cli_ingest_names_the_line_nested_too_deeply(engine, tmp_path):
    path = tmp_path / "events.jsonl"
    deep = __import__("json").dumps(event(run_id="deep"))[:-1] + f', "context": {{"a": {_nested(5000)}}}}}'
    path.write_text(__import__("json").dumps(event(run_id="ok")) + "\n" + deep + "\n")
    result = CliRunner().invoke(cli, ["ingest", str(path), "--json"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and re.search(r"line 2: .*nested", result.stderr)
    assert _count(engine) == 1
