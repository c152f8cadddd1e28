"""Canary report from the database: criteria, badges, the overall verdict (met / not met / unknown) on the page and
in the CLI's table and exit code; prom.py errors."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from cli import main
from core.schema import failure_matches as fm
from loaders.ingest.pipeline import IngestPipeline
from queries import prometheus as prom
from queries.failures.recovery import mark_recoveries
from queries.reports.canary import evaluate_canary, overall

from .helpers import free_port


def _seed(engine, metrics, *, hits: int, misses: int, recovered: int, failed: int, tenant: str = "canary") -> None:
    events = [{"tenant_id": tenant, "run_id": f"h{i}", "error_code": "NET_TIMEOUT", "error_message": "read timed out"}
              for i in range(hits)]
    events += [{"tenant_id": tenant, "run_id": f"m{i}", "error_message": f"frobnicator {i} jammed"}
               for i in range(misses)]
    events.append({"tenant_id": "other", "run_id": "x", "error_message": "unrelated oddity"})
    assert IngestPipeline(engine, metrics=metrics).ingest(events).inserted == len(events)
    with engine.connect() as conn:
        ids = [str(i) for i in conn.execute(select(fm.c.id).where(fm.c.tenant_id == tenant).order_by(fm.c.id))
               .scalars()]
    with engine.begin() as conn:
        if recovered:
            mark_recoveries(conn, items=[(i, None) for i in ids[:recovered]], succeeded=True, recovered_by="t")
        if failed:
            mark_recoveries(conn, items=[(i, None) for i in ids[recovered:recovered + failed]], succeeded=False,
                            recovered_by="t")


def _db_rates(engine, tenant: str) -> tuple[float, float]:
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).where(fm.c.tenant_id == tenant)).scalar_one()
        missed = conn.execute(select(func.count()).where(fm.c.tenant_id == tenant,
                                                         fm.c.catalog_entry_id.is_(None))).scalar_one()
        attempted = conn.execute(select(func.count()).where(fm.c.tenant_id == tenant,
                                                            fm.c.recovery_attempted.is_(True))).scalar_one()
        ok = conn.execute(select(func.count()).where(fm.c.tenant_id == tenant,
                                                     fm.c.recovery_succeeded.is_(True))).scalar_one()
    return missed / total, ok / attempted


def _range() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(hours=2), now + timedelta(hours=1)


def test_canary_from_database_fails_on_miss_rate_and_unknown_drops(engine, metrics):
    _seed(engine, metrics, hits=8, misses=2, recovered=3, failed=1)
    miss, rec = _db_rates(engine, "canary")
    start, end = _range()
    with engine.connect() as conn:
        result = evaluate_canary(conn, tenant_id="canary", start=start, end=end)
    by = {c.name: c for c in result.criteria}
    assert by["Miss rate"].value == pytest.approx(miss) and by["Miss rate"].status == "fail"  # 20% > 15%
    assert by["Recovery success"].value == pytest.approx(rec) and by["Recovery success"].status == "pass"
    assert by["Dropped persistence events"].status == "unknown"
    assert result.prometheus == "not configured" and not result.met
    badges = {b.alert: b.state for b in result.badges}
    assert badges == {"FailureCatalogMissRateHigh": "ok", "RecoverySuccessRateLow": "ok",
                      "FailurePersistDropped": "unknown", "R2UploadFailed": "ok"}


def test_canary_badges_fire_on_bad_rates(engine, metrics):
    _seed(engine, metrics, hits=3, misses=7, recovered=1, failed=3)
    start, end = _range()
    with engine.connect() as conn:
        result = evaluate_canary(conn, tenant_id="canary", start=start, end=end)
    badges = {b.alert: b.state for b in result.badges}
    assert badges["FailureCatalogMissRateHigh"] == "firing" and badges["RecoverySuccessRateLow"] == "firing"


def test_canary_with_unreachable_prometheus_says_so(engine, metrics):
    _seed(engine, metrics, hits=10, misses=1, recovered=4, failed=1)
    start, end = _range()
    url = f"http://127.0.0.1:{free_port()}"
    with engine.connect() as conn:
        result = evaluate_canary(conn, tenant_id="canary", start=start, end=end, prometheus_url=url)
    assert result.prometheus.startswith("unreachable") and url in result.prometheus
    by = {c.name: c for c in result.criteria}
    assert by["Miss rate"].status == "pass" and by["Recovery success"].status == "pass"
    assert by["Dropped persistence events"].status == "unknown" and not result.met
    assert result.verdict == "unknown"


def test_canary_report_cli_prints_table_and_exits_nonzero(engine, metrics):
    _seed(engine, metrics, hits=8, misses=2, recovered=3, failed=1)
    miss, _ = _db_rates(engine, "canary")
    res = CliRunner().invoke(main, ["canary-report", "--tenant", "canary", "--since", "3h", "--no-prometheus"])
    assert res.exit_code == 1
    assert "Miss rate" in res.stdout and f"{miss:.1%}" in res.stdout and "NOT MET" in res.stdout
    assert "canary criteria not met" in res.stderr
    res = CliRunner().invoke(main, ["canary-report", "--tenant", "canary", "--since", "3h", "--no-prometheus",
                                    "--json"])
    body = json.loads(res.stdout)
    assert body["met"] is False and body["criteria"][0]["value"] == pytest.approx(miss)
    # A failed criterion decides, whatever is unknown besides.
    assert res.exit_code == 1 and body["verdict"] == "not met"
    assert [c["verdict"] for c in body["criteria"]] == ["not met", "met", "unknown", "unknown"]
    res = CliRunner().invoke(main, ["canary-report", "--since", "3h"])
    assert res.exit_code == 2  # neither --tenant nor --all-tenants


@pytest.mark.parametrize(("statuses", "verdict"), [
    (["pass", "pass", "pass", "pass"], "met"),
    (["pass", "pass", "unknown", "unknown"], "unknown"),
    (["fail", "pass", "unknown", "unknown"], "not met"),
    (["pass", "fail", "pass", "pass"], "not met"),
    (["unknown", "unknown"], "unknown"),
])
def test_overall_verdict_rule(statuses, verdict):
    assert overall(statuses) == verdict


def test_canary_all_measured_pass_without_prometheus_is_unknown(engine, metrics):
    _seed(engine, metrics, hits=10, misses=1, recovered=4, failed=1)
    miss, rec = _db_rates(engine, "canary")
    assert miss <= 0.15 and rec >= 0.6  # every criterion the database can measure passes
    start, end = _range()
    with engine.connect() as conn:
        result = evaluate_canary(conn, tenant_id="canary", start=start, end=end)
    assert [c.verdict for c in result.criteria] == ["met", "met", "unknown", "unknown"]
    assert result.verdict == "unknown" and not result.met

    res = CliRunner().invoke(main, ["canary-report", "--tenant", "canary", "--since", "3h", "--no-prometheus"])
    assert res.exit_code == 3, res.output
    assert "canary criteria: UNKNOWN" in res.stdout and "NOT MET" not in res.stdout
    assert "failcat: error" not in res.stderr
    assert "canary criteria unknown" in res.stderr and "Dropped persistence events" in res.stderr
    res = CliRunner().invoke(main, ["canary-report", "--tenant", "canary", "--since", "3h", "--no-prometheus",
                                    "--json"])
    assert res.exit_code == 3 and json.loads(res.stdout)["verdict"] == "unknown"


def test_overview_page_says_unknown_not_not_met(engine, metrics):
    import streamlit as st

    from tests.support.apptest import app_for, shown_text, signed_in

    _seed(engine, metrics, hits=10, misses=1, recovered=4, failed=1)
    st.cache_data.clear()
    at = app_for("pages/overview.py", signed_in(engine, name="canary-admin"), {"tenant": "canary"}).run()
    assert not at.exception, at.exception
    text = shown_text(at)
    assert "**Canary success criteria** — unknown" in text and "not met" not in text
    assert "Miss rate (≤ 15%) — met" in text and "Dropped persistence events (= 0) — unknown" in text

    _seed(engine, metrics, hits=0, misses=5, recovered=0, failed=0, tenant="missing")
    st.cache_data.clear()
    at = app_for("pages/overview.py", signed_in(engine, name="canary-admin-2"), {"tenant": "missing"}).run()
    assert not at.exception, at.exception
    text = shown_text(at)
    assert "**Canary success criteria** — not met" in text and "Miss rate (≤ 15%) — not met" in text


def test_canary_report_for_a_tenant_without_data_is_an_input_error(engine, metrics):
    _seed(engine, metrics, hits=3, misses=0, recovered=1, failed=0)
    res = CliRunner().invoke(main, ["canary-report", "--tenant", "no-such-tenant", "--since", "3h",
                                    "--no-prometheus"])
    assert res.exit_code == 2, res.output
    assert res.stdout == ""
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert lines == ["failcat: error: unknown tenant 'no-such-tenant': the database holds no failures for it"]
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_prom_unreachable_raises_clear_error():
    url = f"http://127.0.0.1:{free_port()}"
    start, end = _range()
    with pytest.raises(prom.PrometheusUnavailable, match="127.0.0.1"):
        prom.get_hit_rate_series(url, start=start, end=end, step="60s")
    with pytest.raises(prom.PrometheusUnavailable):
        prom.get_alerts(url)
    assert prom.is_reachable(url) is False
    with pytest.raises(ValueError, match="step"):
        prom.check_range(start, end, "0s")
    with pytest.raises(ValueError, match="points"):
        prom.check_range(start, end, "0.1s")
    with pytest.raises(ValueError, match="after start"):
        prom.check_range(end, start, "60s")
