"""Synthetic validation: expected vs stored, read back from the database, and nothing left behind (both engines)."""
from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import delete, func, select

from cli import main
from core import metrics as metrics_mod
from core.metrics import get_metrics
from core.schema import (
    DATA_TABLES,
    failure_group_daily,
    failure_groups,
    failure_matches,
    failure_rollups,
    failure_rollups_all,
    failure_rollups_daily,
    failure_totals,
    metadata,
    recovery_events,
    unmatched_signature_daily,
)
from demo import validate as validate_mod
from demo.seed import seed_database
from demo.validate import CHECKS, run_validation
from loaders.ingest.pipeline import IngestPipeline


def _count(engine, *where):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(failure_matches).where(*where)).scalar_one()


def test_validation_passes_and_reads_real_rows(engine, metrics):
    # Data of another tenant must not leak into the validation counts.
    from loaders.ingest.pipeline import IngestPipeline

    IngestPipeline(engine, metrics=metrics).ingest(
        [{"tenant_id": "other", "run_id": "r", "error_message": "connection refused"}] * 3
    )
    result = run_validation(engine, events=1000, seed=7, metrics=metrics, keep=True)
    assert result.ok, result.table()
    assert result.removed is None
    assert [r.check for r in result.rows] == list(CHECKS)
    fm = failure_matches
    t = fm.c.tenant_id == result.tenant_id
    assert result.tenant_id.startswith("validate-")
    stored = {r.check: r.stored for r in result.rows}
    expected = {r.check: r.expected for r in result.rows}
    # Independent counts straight from the tables.
    assert stored["persisted"] == _count(engine, t) == 1000
    assert stored["matched"] == _count(engine, t, fm.c.catalog_entry_id.is_not(None))
    assert stored["unmatched"] == _count(engine, t, fm.c.catalog_entry_id.is_(None)) > 0
    assert stored["recovery_attempted"] == _count(engine, t, fm.c.recovery_attempted.is_(True)) > 0
    assert stored["recovery_succeeded"] == _count(engine, t, fm.c.recovery_succeeded.is_(True)) > 0
    assert 100 <= expected["unmatched"] <= 200
    assert _count(engine, fm.c.tenant_id == "other") == 3
    assert "expected" in result.table() and "DIFF" not in result.table()


def test_validation_reports_differences(engine, metrics, monkeypatch):
    real = validate_mod.apply_recoveries

    def lose_one(engine_, planned, **kw):
        planned = list(planned)
        return real(engine_, planned[1:], **kw)  # one planned recovery never reaches the database

    monkeypatch.setattr(validate_mod, "apply_recoveries", lose_one)
    result = run_validation(engine, events=200, seed=3, metrics=metrics)
    assert not result.ok
    bad = {r.check for r in result.rows if not r.ok}
    assert "recovery_attempted" in bad and "rollup_recovery_attempts" in bad
    assert "DIFF" in result.table()


def test_validation_detects_lost_rows(engine, metrics, monkeypatch):
    real_stored = validate_mod._stored_counts

    def after_loss(engine_, tenant_id, codes):
        with engine_.begin() as conn:
            victim = conn.execute(
                select(failure_matches.c.id).where(failure_matches.c.tenant_id == tenant_id).limit(1)
            ).scalar_one()
            conn.execute(delete(failure_matches).where(failure_matches.c.id == victim))
        return real_stored(engine_, tenant_id, codes)

    monkeypatch.setattr(validate_mod, "_stored_counts", after_loss)
    result = run_validation(engine, events=100, seed=4, metrics=metrics, keep=True)
    rows = {r.check: r for r in result.rows}
    assert not rows["persisted"].ok and rows["persisted"].stored == rows["persisted"].expected - 1
    assert rows["rollup_failures"].ok  # the rollups still count the lost row: the table shows the mismatch
    with engine.connect() as conn:
        assert conn.execute(select(func.sum(failure_rollups.c.failures)).where(
            failure_rollups.c.tenant_id == result.tenant_id)).scalar_one() == 100


def _snapshot(engine) -> dict[str, list[tuple]]:
    """Every row of every data table (failures, history, each rollup level, signatures, groups and their days)."""
    with engine.connect() as conn:
        return {name: sorted((tuple(r) for r in conn.execute(select(metadata.tables[name]))), key=repr)
                for name in DATA_TABLES}


def _seed_other_tenants(engine, metrics) -> None:
    # Same codes, signatures and hours as the validation's events, so the all-tenant rollups are shared.
    pipeline = IngestPipeline(engine, metrics=metrics)
    report = seed_database(engine, events=300, tenants=["acme", "globex"], days=1, seed=11, pipeline=pipeline)
    assert report.ingest.inserted == 300 and report.recoveries_attempted > 0


def _process_samples() -> list[tuple]:
    return sorted((s.name, tuple(sorted(s.labels.items())), s.value)
                  for family in get_metrics().registry.collect() for s in family.samples)


def test_validation_leaves_the_database_as_it_found_it(engine, metrics):
    _seed_other_tenants(engine, metrics)
    before = _snapshot(engine)
    assert all(before[name] for name in ("failure_matches", "recovery_events", "failure_rollups_all",
                                         "failure_groups", "failure_group_daily", "unmatched_signature_daily"))
    result = run_validation(engine, events=500, seed=7)
    assert result.ok, result.table()
    assert result.removed is not None and result.removed.failures == 500
    assert result.removed.recovery_events == next(r.expected for r in result.rows if r.check == "recovery_attempted")
    assert _snapshot(engine) == before


def test_validate_command_cleans_up_unless_keep(engine, metrics):
    _seed_other_tenants(engine, metrics)
    before = _snapshot(engine)
    res = CliRunner().invoke(main, ["validate", "--events", "200", "--seed", "3"])
    assert res.exit_code == 0, res.output
    assert "validation passed" in res.stdout and "removed the validation rows: 200 failures" in res.stdout
    assert _snapshot(engine) == before

    res = CliRunner().invoke(main, ["validate", "--events", "200", "--seed", "3", "--keep"])
    assert res.exit_code == 0, res.output
    tenant = res.stdout.splitlines()[0].removeprefix("validation tenant: ")
    assert tenant.startswith("validate-") and f"kept the validation tenant's rows (--keep): {tenant}" in res.stdout
    with engine.connect() as conn:
        def total(table, column="failures"):
            return conn.execute(select(func.coalesce(func.sum(table.c[column]), 0))
                                .where(table.c.tenant_id == tenant)).scalar_one()

        assert conn.execute(select(func.count()).where(failure_matches.c.tenant_id == tenant)).scalar_one() == 200
        assert conn.execute(select(func.count()).where(recovery_events.c.tenant_id == tenant)).scalar_one() > 0
        for table in (failure_rollups, failure_rollups_daily, failure_totals, failure_groups, failure_group_daily):
            assert total(table) == 200, table.name
        assert total(unmatched_signature_daily, "occurrences") > 0
        all_tenants = conn.execute(select(func.sum(failure_rollups_all.c.failures))).scalar_one()
    assert all_tenants == 300 + 200


def test_validation_counts_stay_off_the_process_metrics_and_the_pushgateway(engine, monkeypatch):
    pushed: list[str] = []
    monkeypatch.setenv("PUSHGATEWAY_URL", "http://127.0.0.1:9")
    monkeypatch.setattr(metrics_mod, "push_to_gateway", lambda *a, **kw: pushed.append(kw.get("job", "?")))
    before = _process_samples()
    assert run_validation(engine, events=200, seed=5).ok
    res = CliRunner().invoke(main, ["validate", "--events", "200", "--seed", "5"])
    assert res.exit_code == 0, res.output
    assert _process_samples() == before and pushed == []
    # The run did count: into a registry of its own.
    own = metrics_mod.FailcatMetrics()
    assert run_validation(engine, events=100, seed=5, metrics=own).ok
    assert sum(s.value for f in own.registry.collect() if f.name in ("failure_match_hits", "failure_match_misses")
               for s in f.samples if s.name.endswith("_total")) == 100
