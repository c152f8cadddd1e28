"""Migration 0011 recomputes every stored signature with the current fingerprint and rebuilds the unmatched
signature rollups from the rows (both engines); its frozen copy of the fingerprint is the product's."""
from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, select, update
from sqlalchemy.engine import Engine

from core.metrics import FailcatMetrics
from core.schema import failure_matches as fm
from core.schema import unmatched_signature_daily as usd
from core.schema import unmatched_signature_weekly as usw
from core.timebuckets import day_floor
from loaders.catalog.file import read_catalog_file
from loaders.catalog.matcher import Matcher
from loaders.catalog.signature import signature_of
from loaders.ingest.pipeline import IngestPipeline
from loaders.migrate import alembic_config, upgrade_schema
from tests.support.databases import empty_database

ROOT = Path(__file__).resolve().parents[2]
MIGRATION = ROOT / "migrations" / "versions" / "0011_reasons_signatures_groups.py"
CORPUS = ROOT / "tests" / "error_corpus" / "corpus.jsonl"


def _migration_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("migration_0011", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_frozen_fingerprint_is_the_products():
    frozen = _migration_module().signature_v2
    matcher = Matcher(read_catalog_file()[1])
    messages = [json.loads(line)["message"] for line in CORPUS.read_text().splitlines()]
    for message in messages:
        code = matcher.match(None, message).error_code
        assert frozen(message, code) == signature_of(message, code), message[:120]


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_engine(request, tmp_path) -> Iterator[Engine]:
    """A brand-new database of each kind migrated to head, removed afterwards."""
    with empty_database(request.param, tmp_path, "failcat_sigv2") as eng:
        upgrade_schema(eng)
        yield eng


def test_upgrade_recomputes_signatures_and_rebuilds_the_rollups(fresh_engine):
    events = [{"tenant_id": f"t{i % 2}", "run_id": f"r{i}",
               "error_message": f"gizmo failed for request req_{i:08d}x at step {i} after {i % 7}00ms"}
              for i in range(40)]
    pipeline = IngestPipeline(fresh_engine, metrics=FailcatMetrics(), check_flag=False)
    assert pipeline.ingest(events).inserted == len(events)
    with fresh_engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0010")
        # What an older fingerprint left behind: one signature per row, and rollups keyed by them.
        for i, fid in enumerate(conn.execute(select(fm.c.id)).scalars()):
            conn.execute(update(fm).where(fm.c.id == fid).values(signature=f"old{i:013d}"))
        conn.execute(usd.delete())
        conn.execute(usw.delete())
    with fresh_engine.connect() as conn:
        assert "match_reason" not in {c["name"] for c in inspect(conn).get_columns("failure_matches")}
    upgrade_schema(fresh_engine)
    with fresh_engine.connect() as conn:
        rows = conn.execute(select(fm.c.tenant_id, fm.c.error_code, fm.c.error_message, fm.c.signature,
                                   fm.c.created_at, fm.c.match_reason)).all()
        daily = conn.execute(select(usd)).mappings().all()
        weekly = conn.execute(select(usw)).mappings().all()
    assert all(r.signature == signature_of(r.error_message, r.error_code) for r in rows)
    assert len({r.signature for r in rows}) == 1  # request ids, step numbers and durations are normalised
    assert all(r.match_reason is None for r in rows)  # the reason of a failure matched before is not invented
    expected: dict[tuple, int] = {}
    for r in rows:
        key = (r.tenant_id, day_floor(r.created_at), r.signature, r.error_code)
        expected[key] = expected.get(key, 0) + 1
    assert {(d["tenant_id"], d["bucket"], d["signature"], d["error_code"]): d["occurrences"] for d in daily} \
        == expected
    assert sum(w["occurrences"] for w in weekly) == len(events)
