"""Against a real Prometheus scraping the running API every second (see conftest.stack): counters equal what
was sent and what the database holds, the recorded hit rate equals the database's, alerts fire, every Grafana
panel query runs, and queries.prometheus / queries.reports.canary read it all back.
"""
from __future__ import annotations

import json
import math
from collections import Counter
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from core.metrics import OTHER, UNKNOWN
from core.schema import catalog_entries
from core.schema import failure_matches as fm
from core.schema import failure_rollups as fr
from queries import prometheus as prom
from queries.reports.canary import evaluate_canary

from .helpers import GRAFANA_JSON

pytestmark = [pytest.mark.slow, pytest.mark.prometheus]

TENANT = "prom-canary"
HITS = [("NET_TIMEOUT", "read timed out")] * 4 + [("NET_CONNECTION_REFUSED", "connect ECONNREFUSED 10.1.1.1:80")] * 2
MISSES = [f"quux subsystem {i} emitted gibberish zq{i}" for i in range(4)]  # 40% misses: above the 30% alert


@pytest.fixture(scope="module")
def ingested(stack):
    """Known events sent through POST /api/v1/failures, recoveries through PATCH, and scraped by Prometheus."""
    events = [{"tenant_id": TENANT, "run_id": f"h{i}", "error_code": code, "error_message": msg}
              for i, (code, msg) in enumerate(HITS)]
    events += [{"tenant_id": TENANT, "run_id": f"m{i}", "error_message": msg} for i, msg in enumerate(MISSES)]
    answer = stack.post(events)
    assert (answer["inserted"], answer.get("matched"), answer.get("unmatched")) == (10, 6, 4), answer
    stack.sent = events
    with stack.engine.connect() as conn:
        hit_ids = [str(i) for i in conn.execute(
            select(fm.c.id).where(fm.c.tenant_id == TENANT, fm.c.catalog_entry_id.is_not(None)).order_by(fm.c.id)
        ).scalars()]
    stack.recovered, stack.failed = hit_ids[:1], hit_ids[1:3]
    for fid in stack.recovered:
        stack.patch_recovery(fid, True)
    for fid in stack.failed:
        stack.patch_recovery(fid, False)
    with stack.engine.connect() as conn:
        db_total = conn.execute(select(func.coalesce(func.sum(fr.c.failures), 0))).scalar_one()
    stack.wait_for("Prometheus to scrape every event and recovery",
                   lambda: stack.value("sum(failure_match_hits_total) + sum(failure_match_misses_total)") == db_total
                   and stack.value("sum(recovery_success_total) + sum(recovery_failure_total)") == 3)
    # A few rule evaluations after the last scrape, so range queries with a step of seconds find points.
    stack.wait_for("the ratios to be recorded a few times",
                   lambda: (stack.value("count_over_time(failcat:recovery_success_rate:ratio_rate30m[1m])") or 0) >= 4
                   and (stack.value("count_over_time(failcat:hit_rate:ratio_rate10m[1m])") or 0) >= 4)
    return stack


def test_no_traffic_records_no_ratio_and_fires_nothing(stack):
    seen = stack.before_traffic
    assert seen["series"] == {name: [] for name in seen["series"]}  # no value at all, not NaN or 0
    assert seen["alerts"] == []
    assert seen["rule_health"] and set(seen["rule_health"].values()) == {"ok"}  # every rule evaluates cleanly


def _prom_by(stack, metric: str, *labels: str) -> dict[tuple, float]:
    out = {}
    for r in stack.query(f"sum by ({', '.join(labels)}) ({metric})"):
        value = float(r["value"][1])
        if value:
            out[tuple(r["metric"].get(label, "") for label in labels)] = value
    return out


def test_counters_equal_what_was_sent_and_the_database(ingested):
    sent_hits = Counter(e["error_code"] for e in ingested.sent if e.get("error_code"))
    with ingested.engine.connect() as conn:
        db_hits = dict(conn.execute(
            select(fr.c.error_code, fr.c.category, func.sum(fr.c.failures))
            .where(fr.c.matched.is_(True)).group_by(fr.c.error_code, fr.c.category)).all() and
            [((c, cat), float(n)) for c, cat, n in conn.execute(
                select(fr.c.error_code, fr.c.category, func.sum(fr.c.failures))
                .where(fr.c.matched.is_(True)).group_by(fr.c.error_code, fr.c.category))])
        catalog = set(conn.execute(select(catalog_entries.c.code)).scalars())
        db_misses: Counter = Counter()
        for c, n in conn.execute(select(fr.c.error_code, func.sum(fr.c.failures)).where(fr.c.matched.is_(False))
                                 .group_by(fr.c.error_code)):
            # Codes outside the catalog are client text: the metric names them OTHER.
            db_misses[(c if c in catalog or c == UNKNOWN else OTHER,)] += float(n)
        db_recovery = Counter(
            (mode or "NONE", code, ok) for mode, code, ok in conn.execute(
                select(fm.c.recovery_mode, fm.c.error_code, fm.c.recovery_succeeded)
                .where(fm.c.recovery_attempted.is_(True))))
    prom_hits = _prom_by(ingested, "failure_match_hits_total", "error_code", "category")
    assert prom_hits == db_hits
    assert {code: n for (code, _), n in prom_hits.items()} == {c: float(n) for c, n in sent_hits.items()}
    prom_misses = _prom_by(ingested, "failure_match_misses_total", "error_code")
    assert prom_misses == dict(db_misses)
    assert prom_misses[("UNKNOWN",)] == len(MISSES)  # the misses were sent without a code
    prom_ok = _prom_by(ingested, "recovery_success_total", "recovery_mode", "error_code")
    prom_bad = _prom_by(ingested, "recovery_failure_total", "recovery_mode", "error_code")
    assert prom_ok == {(m, c): float(n) for (m, c, ok), n in db_recovery.items() if ok}
    assert prom_bad == {(m, c): float(n) for (m, c, ok), n in db_recovery.items() if not ok}
    assert sum(prom_ok.values()) == len(ingested.recovered) and sum(prom_bad.values()) == len(ingested.failed)
    assert ingested.value("sum(failure_persist_dropped_total)") == 0


def test_recorded_hit_rate_equals_database(ingested):
    # Only TENANT's events were sent after Prometheus started (the warm-up came before its first scrape),
    # so the deployment-wide rate ratio must equal TENANT's matched/total from the rollups.
    with ingested.engine.connect() as conn:
        matched, total = conn.execute(
            select(func.sum(fr.c.failures).filter(fr.c.matched.is_(True)), func.sum(fr.c.failures))
            .where(fr.c.tenant_id == TENANT)).one()
    expected = matched / total
    got = ingested.wait_for(
        "the recorded hit rate to reflect every scraped event",
        lambda: (v := ingested.value("failcat:hit_rate:ratio_rate10m")) is not None
        and math.isclose(v, expected, rel_tol=1e-9) and v, timeout=20)
    assert got == pytest.approx(expected, rel=1e-9)
    miss = ingested.value("failcat:miss_rate:ratio_rate10m")
    assert miss == pytest.approx(1 - expected, rel=1e-9)


def test_alerts_fire_from_the_real_rules(ingested):
    def firing() -> set[str]:
        alerts = prom.get_alerts(ingested.prom_url)
        return set(alerts.loc[alerts["state"] == "firing", "alertname"])

    names = ingested.wait_for("FailureCatalogMissRateHigh and RecoverySuccessRateLow firing",
                              lambda: (f := firing()) >= {"FailureCatalogMissRateHigh", "RecoverySuccessRateLow"}
                              and f, timeout=30)
    assert "FailurePersistDropped" not in names and "R2UploadFailed" not in names
    alerts = prom.get_alerts(ingested.prom_url)
    row = alerts[alerts["alertname"] == "FailureCatalogMissRateHigh"].iloc[0]
    assert row["severity"] == "warning" and row["value"] > 0.30
    assert isinstance(row["active_at"], pd.Timestamp) and row["active_at"].tzinfo is not None


def test_prom_range_series_are_typed_frames(ingested):
    end = datetime.now(UTC)
    start = ingested.started - timedelta(seconds=5)
    hit = prom.get_hit_rate_series(ingested.prom_url, start=start, end=end, step="1s")
    assert list(hit.columns) == ["ts", "hit_rate"]
    assert isinstance(hit["ts"].dtype, pd.DatetimeTZDtype) and str(hit["ts"].dt.tz) == "UTC"
    assert hit["hit_rate"].dtype == float
    assert hit["ts"].min() >= pd.Timestamp(start) and hit["ts"].max() <= pd.Timestamp(end)
    assert hit["ts"].diff().dropna().dt.total_seconds().eq(1).all()  # the explicit step
    with ingested.engine.connect() as conn:
        matched, total = conn.execute(
            select(func.sum(fr.c.failures).filter(fr.c.matched.is_(True)), func.sum(fr.c.failures))
            .where(fr.c.tenant_id == TENANT)).one()
    assert hit["hit_rate"].iloc[-1] == pytest.approx(matched / total)
    rec = prom.get_recovery_success_series(ingested.prom_url, start=start, end=end, step=timedelta(seconds=2))
    assert list(rec.columns) == ["ts", "recovery_success_rate"] and not rec.empty
    assert rec["recovery_success_rate"].iloc[-1] == pytest.approx(
        len(ingested.recovered) / (len(ingested.recovered) + len(ingested.failed)))
    assert prom.get_dropped_increase(ingested.prom_url, start=start, end=end) == 0
    assert prom.is_reachable(ingested.prom_url)
    with pytest.raises(prom.PrometheusUnavailable, match="failed"):
        prom.get_range(ingested.prom_url, "sum(", start=start, end=end, step="1s")  # a refused query is clear too


def _panel_exprs() -> list[tuple[str, str]]:
    dash = json.loads(GRAFANA_JSON.read_text())
    return [(p["title"], t["expr"]) for p in dash["panels"] for t in p.get("targets", [])]


def test_grafana_panels_query_the_real_prometheus_without_error(ingested):
    exprs = _panel_exprs()
    titles = {t for t, _ in exprs}
    assert {"Hit rate", "Recovery success rate", "Unmatched failures", "Top error codes",
            "Recovery attempts by mode"} <= titles
    # Grafana's macros replaced by concrete durations, as Grafana would before sending the query.
    macros = {"$__rate_interval": "1m", "$__range": "5m", "$__interval": "15s"}
    for title, expr in exprs:
        for macro, value in macros.items():
            expr = expr.replace(macro, value)
        result = ingested.query(expr)  # asserts status == success
        if title in {"Hit rate", "Recovery success rate", "Top error codes", "Recovery attempts by mode"}:
            assert result, f"panel {title!r} returned no data: {expr}"
    top = {r["metric"]["error_code"]: float(r["value"][1]) for r in ingested.query(
        dict(exprs)["Top error codes"].replace("$__range", "5m"))}
    assert set(top) >= {"NET_TIMEOUT", "UNKNOWN"}


def test_grafana_thresholds_match_the_guide():
    dash = json.loads(GRAFANA_JSON.read_text())
    panels = {p["title"]: p for p in dash["panels"]}

    def steps(title: str) -> list:
        return [(s["color"], s["value"]) for s in panels[title]["fieldConfig"]["defaults"]["thresholds"]["steps"]]

    assert steps("Hit rate") == [("red", None), ("green", 0.7)]
    assert steps("Recovery success rate") == [("red", None), ("green", 0.5)]
    assert panels["Hit rate"]["fieldConfig"]["defaults"]["unit"] == "percentunit"
    assert steps("Dropped persistence events") == [("green", None), ("red", 1)]


def test_canary_with_prometheus(ingested):
    end = datetime.now(UTC) + timedelta(seconds=1)
    start = ingested.started - timedelta(minutes=5)
    with ingested.engine.connect() as conn:
        result = evaluate_canary(conn, tenant_id=TENANT, start=start, end=end, prometheus_url=ingested.prom_url)
    by = {c.name: c for c in result.criteria}
    assert result.prometheus == "used"
    assert by["Dropped persistence events"].value == 0 and by["Dropped persistence events"].status == "pass"
    assert by["Miss rate"].value == pytest.approx(len(MISSES) / (len(MISSES) + len(HITS)))
    assert by["Miss rate"].status == "fail" and not result.met
    assert "FailureCatalogMissRateHigh" in {b.alert for b in result.live_alerts if b.state == "firing"}

    from cli import main

    res = CliRunner().invoke(main, ["canary-report", "--tenant", TENANT, "--since", "1h",
                                    "--prometheus-url", ingested.prom_url],
                             env={"DATABASE_URL": ingested.db_url})
    assert res.exit_code == 1, res.output
    assert "Prometheus: used" in res.stdout and "FailureCatalogMissRateHigh" in res.stdout


def _overview(ingested, monkeypatch, prometheus_url: str | None, name: str):
    import streamlit as st

    from core.settings import get_settings
    from tests.support.apptest import app_for, shown_text, signed_in

    monkeypatch.setenv("DATABASE_URL", ingested.db_url)
    if prometheus_url:
        monkeypatch.setenv("PROMETHEUS_URL", prometheus_url)
    else:
        monkeypatch.delenv("PROMETHEUS_URL", raising=False)
    get_settings.cache_clear()
    st.cache_data.clear()
    at = app_for("pages/overview.py", signed_in(ingested.engine, name=name, role="admin")).run()
    assert not at.exception, at.exception
    return shown_text(at)


def test_overview_shows_prometheus_alerts_and_source(ingested, monkeypatch):
    ingested.wait_for("the miss-rate alert firing", lambda: "FailureCatalogMissRateHigh" in set(
        (a := prom.get_alerts(ingested.prom_url)).loc[a["state"] == "firing", "alertname"]), timeout=30)
    text = _overview(ingested, monkeypatch, ingested.prom_url, "prom-admin-1")
    assert "`FailureCatalogMissRateHigh` · `warning` · FIRING" in text
    assert f"source **Prometheus ({ingested.prom_url})**" in text


def test_overview_falls_back_to_database_when_prometheus_is_unreachable(ingested, monkeypatch):
    from .helpers import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    text = _overview(ingested, monkeypatch, dead, "prom-admin-2")
    assert "source **database, because Prometheus is unreachable" in text and dead in text
    assert "Alerts in Prometheus now" not in text
    text = _overview(ingested, monkeypatch, None, "prom-admin-3")
    assert "source **database (PROMETHEUS_URL is not set)**" in text


def test_canary_met_with_prometheus_when_every_criterion_passes(ingested, monkeypatch):
    # Last in the module: stored straight into the database with a registry of its own, so Prometheus' counters
    # (compared with the database above) never see these failures.
    from cli import main
    from core.metrics import FailcatMetrics
    from core.settings import get_settings
    from loaders.ingest.pipeline import IngestPipeline
    from queries.failures.recovery import mark_recoveries

    monkeypatch.setenv("DATABASE_URL", ingested.db_url)
    get_settings.cache_clear()
    tenant = "prom-canary-good"
    events = [{"tenant_id": tenant, "run_id": f"g{i}", "error_code": "NET_TIMEOUT", "error_message": "read timed out"}
              for i in range(5)]
    report = IngestPipeline(ingested.engine, metrics=FailcatMetrics()).ingest(events, replay=False)
    assert report.inserted == 5 and report.matched == 5
    with ingested.engine.begin() as conn:
        mark_recoveries(conn, items=[(i, None) for i in report.ids[:4]], succeeded=True, recovered_by="prom-test")
    end = datetime.now(UTC) + timedelta(seconds=1)
    with ingested.engine.connect() as conn:
        result = evaluate_canary(conn, tenant_id=tenant, start=end - timedelta(hours=1), end=end,
                                 prometheus_url=ingested.prom_url)
    assert result.prometheus == "used" and [c.verdict for c in result.criteria] == ["met"] * 4
    assert result.verdict == "met" and result.met

    res = CliRunner().invoke(main, ["canary-report", "--tenant", tenant, "--since", "1h",
                                    "--prometheus-url", ingested.prom_url])
    assert res.exit_code == 0, res.output
    assert "canary criteria: MET" in res.stdout and res.stderr == ""
