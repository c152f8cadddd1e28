"""Nothing is lost when the database is unreachable: events are spooled and replayed exactly once."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from cli import main as cli
from core.db import make_engine
from core.ids import event_failure_id
from core.schema import failure_matches, failure_rollups
from core.settings import ROOT, get_settings
from core.types import utcnow
from loaders.ingest.events import validate_event
from loaders.ingest.pipeline import IngestPipeline
from loaders.ingest.spool import Spool
from queries.accounts import create_token, revoke_token
from tests.support.servers import free_port as _free_port

FAILCAT = str(Path(sys.executable).with_name("failcat"))


@pytest.fixture
def down_engine(engine, tmp_path):
    """An engine of the same kind as `engine` whose database cannot be reached."""
    if engine.dialect.name == "postgresql":
        eng = make_engine(f"postgresql://postgres@127.0.0.1:{_free_port()}/nowhere")  # closed port
    else:
        folder = tmp_path / "a-directory"
        folder.mkdir()
        eng = make_engine(f"sqlite:///{folder}")  # a directory cannot be opened as a database file
    yield eng
    eng.dispose()


def _events(n: int, tenant: str = "t-spool") -> list[dict]:
    return [
        {"tenant_id": tenant, "run_id": f"run-{i // 5}",
         "error_message": f"connection refused to 10.0.0.{i % 250}:5432",
         "step_index": i % 7, "context": {"i": i}}
        for i in range(n)
    ]


def _ids_in_db(engine) -> list[str]:
    with engine.connect() as conn:
        return [str(i) for i in conn.execute(select(failure_matches.c.id)).scalars()]


def _spool() -> Spool:
    return Spool(get_settings().spool_dir)


def test_unreachable_database_spools_then_cli_replay_stores_each_event_once(engine, down_engine, metrics):
    report = IngestPipeline(down_engine, metrics=metrics, batch_size=40).ingest(_events(100))
    assert (report.spooled, report.inserted, report.dropped) == (100, 0, 0)
    assert _spool().pending_events() == 100 and len(_spool().pending_files()) == 3
    assert metrics.registry.get_sample_value("failure_events_spooled_total") == 100
    assert metrics.registry.get_sample_value("failure_persist_dropped_total") == 0
    spooled_ids = sorted(report.ids)

    result = CliRunner().invoke(cli, ["ingest", "--replay", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["replayed"] == 100 and summary["inserted"] == 100
    assert sorted(_ids_in_db(engine)) == spooled_ids  # ids preserved, each exactly once
    assert _spool().pending_files() == []

    again = CliRunner().invoke(cli, ["ingest", "--replay", "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout.strip().splitlines()[-1])["replayed"] == 0
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(failure_matches)).scalar_one() == 100
        assert conn.execute(select(func.sum(failure_rollups.c.failures))).scalar_one() == 100


def test_next_ingest_replays_the_spool_first(engine, down_engine, metrics):
    IngestPipeline(down_engine, metrics=metrics).ingest(_events(30))
    report = IngestPipeline(engine, metrics=metrics).ingest(_events(1, tenant="t-next"))
    assert report.replayed == 30 and report.inserted == 31
    assert len(_ids_in_db(engine)) == 31
    assert _spool().pending_events() == 0
    assert metrics.registry.get_sample_value("failure_events_replayed_total") == 30


def test_a_batch_spooled_twice_is_stored_once(engine, down_engine, metrics):
    # 300 events per file: on PostgreSQL the replay takes the COPY path, on SQLite the multi-row INSERT.
    IngestPipeline(down_engine, metrics=metrics).ingest(_events(300))
    spool = _spool()
    (only,) = spool.pending_files()
    rows = [json.loads(line) for line in only.read_text().splitlines()]
    spool.write(rows)  # the same events (same ids) twice, as after a crash between write and cleanup
    report = IngestPipeline(engine, metrics=metrics).replay_spool()
    assert (report.replayed, report.inserted, report.duplicates) == (600, 300, 300)
    assert sorted(_ids_in_db(engine)) == sorted(r["failure_id"] for r in rows)
    with engine.connect() as conn:
        assert conn.execute(select(func.sum(failure_rollups.c.failures))).scalar_one() == 300
        stored = conn.execute(select(failure_matches.c.context, failure_matches.c.step_index,
                                     failure_matches.c.error_message)).all()
    assert sorted((c["i"], s) for c, s, _ in stored) == sorted((i, i % 7) for i in range(300))
    assert all(m.startswith("connection refused to 10.0.0.") for _, _, m in stored)


def test_events_with_their_own_ids_keep_them_through_the_spool(engine, down_engine, metrics):
    events = [dict(e, id=str(uuid.uuid4())) for e in _events(10)]
    spooled = IngestPipeline(down_engine, metrics=metrics).ingest(events)
    IngestPipeline(engine, metrics=metrics).replay_spool()
    expected = sorted(str(event_failure_id(e["tenant_id"], uuid.UUID(e["id"]))) for e in events)
    assert sorted(_ids_in_db(engine)) == sorted(spooled.ids) == expected
    # Sent again once the database is back, they are the same failures: nothing is stored twice.
    again = IngestPipeline(engine, metrics=metrics).ingest(events)
    assert (again.inserted, again.duplicates) == (0, 10)


def test_spool_files_holding_bare_events_are_replayed_with_their_ids(engine, metrics):
    """A spool line may be the event itself with its final id (the spool format before token ids)."""
    events = [dict(e, id=str(uuid.uuid4()), occurred_at=utcnow().isoformat()) for e in _events(4)]
    _spool().write(events)
    report = IngestPipeline(engine, metrics=metrics).replay_spool()
    assert (report.inserted, report.refused) == (4, 0)
    assert sorted(_ids_in_db(engine)) == sorted(e["id"] for e in events)


def test_replay_refuses_events_of_a_token_revoked_before_they_were_spooled(engine, down_engine, metrics):
    with engine.begin() as conn:
        kept_id, _ = create_token(conn, name="kept", role="admin", tenant_id=None)
        gone_id, _ = create_token(conn, name="gone", role="admin", tenant_id=None)
        revoke_token(conn, token_id=gone_id)
    down = IngestPipeline(down_engine, metrics=metrics)
    assert down.ingest_checked([validate_event(e, i) for i, e in enumerate(_events(3))], token_id=kept_id).spooled == 3
    assert down.ingest_checked([validate_event(e, i) for i, e in enumerate(_events(2))], token_id=gone_id).spooled == 2
    assert down.ingest_checked([validate_event(e, i) for i, e in enumerate(_events(1))], token_id=9999).spooled == 1
    report = IngestPipeline(engine, metrics=metrics).replay_spool()
    assert (report.inserted, report.refused) == (3, 3)  # the revoked token's and the unknown token's events
    assert len(_ids_in_db(engine)) == 3
    assert metrics.registry.get_sample_value("failure_events_rejected_total", {"reason": "revoked_token"}) == 3
    assert _spool().pending_files() == []


def test_replay_keeps_events_of_a_token_revoked_after_they_were_spooled(engine, down_engine, metrics):
    with engine.begin() as conn:
        token_id, _ = create_token(conn, name="later", role="admin", tenant_id=None)
    IngestPipeline(down_engine, metrics=metrics).ingest_checked(
        [validate_event(e, i) for i, e in enumerate(_events(2))], token_id=token_id)
    with engine.begin() as conn:
        revoke_token(conn, token_id=token_id)
    report = IngestPipeline(engine, metrics=metrics).replay_spool()
    assert (report.inserted, report.refused) == (2, 0)


def test_concurrent_replays_claim_each_file_once(engine, down_engine, metrics, db_url):
    IngestPipeline(down_engine, metrics=metrics, batch_size=25).ingest(_events(500))
    assert len(_spool().pending_files()) == 20
    env = dict(os.environ, DATABASE_URL=db_url, SPOOL_DIR=str(get_settings().spool_dir))
    procs = [
        subprocess.Popen([FAILCAT, "ingest", "--replay", "--json"], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    summaries = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert sum(s["replayed"] for s in summaries) == 500
    assert sum(s["duplicates"] for s in summaries) == 0  # no file was replayed by two processes
    ids = _ids_in_db(engine)
    assert len(ids) == len(set(ids)) == 500
    assert _spool().pending_files() == [] and not list(get_settings().spool_dir.glob("*.replaying-*"))


def test_dropped_counts_only_what_could_not_be_spooled(engine, down_engine, metrics, tmp_path, monkeypatch):
    blocker = tmp_path / "spool-is-a-file"
    blocker.write_text("not a directory")  # tests run as root, so permissions cannot force the failure
    monkeypatch.setenv("SPOOL_DIR", str(blocker))
    get_settings.cache_clear()
    report = IngestPipeline(down_engine, metrics=metrics).ingest(_events(12))
    assert (report.dropped, report.spooled, report.inserted) == (12, 0, 0)
    assert metrics.registry.get_sample_value("failure_persist_dropped_total") == 12
    # With the database back, the same pipeline stores new events and drops nothing more.
    report = IngestPipeline(engine, metrics=metrics).ingest(_events(5))
    assert report.inserted == 5 and report.dropped == 0
    assert metrics.registry.get_sample_value("failure_persist_dropped_total") == 12


def test_stale_claim_of_a_dead_replayer_is_recovered(engine, down_engine, metrics):
    IngestPipeline(down_engine, metrics=metrics).ingest(_events(8))
    (path,) = _spool().pending_files()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path.rename(path.with_suffix(f".replaying-{dead.pid}"))  # claimed by a process that died
    report = IngestPipeline(engine, metrics=metrics).replay_spool()
    assert report.inserted == 8 and len(_ids_in_db(engine)) == 8
