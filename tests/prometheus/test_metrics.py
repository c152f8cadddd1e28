"""Metrics: bounded label cardinality under a flood, primed series, Pushgateway push, metrics server."""
from __future__ import annotations

import json
import random
import string
import subprocess

import requests
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from core.metrics import OTHER, UNKNOWN, FailcatMetrics
from core.schema import catalog_entries, failure_rollups
from loaders.ingest.pipeline import IngestPipeline

from .helpers import VENV_BIN, free_port, need_binary, running, wait_http


def _label_values(metrics: FailcatMetrics, metric: str, label: str) -> set[str]:
    return {
        s.labels[label]
        for fam in metrics.registry.collect()
        for s in fam.samples
        if s.name == metric and label in s.labels
    }


def _series(metrics: FailcatMetrics, metric: str) -> int:
    return sum(1 for fam in metrics.registry.collect() for s in fam.samples if s.name == metric)


def _random_code(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_letters + string.digits + "-. ", k=rng.randint(3, 90)))


def test_flood_of_random_codes_keeps_series_bounded(engine):
    metrics = FailcatMetrics()
    pipeline = IngestPipeline(engine, metrics=metrics)
    rng = random.Random(5)
    with engine.connect() as conn:
        catalog_size = conn.execute(select(func.count()).select_from(catalog_entries)).scalar()

    def flood(n: int) -> None:
        events = [
            {
                "tenant_id": "flood", "run_id": f"r{i}", "error_code": _random_code(rng),
                # Half match a catalog pattern under a random code (hits), half match nothing (misses).
                "error_message": "connection refused" if i % 2 else f"weird thing {rng.random()} happened",
            }
            for i in range(n)
        ]
        report = pipeline.ingest(events)
        assert report.inserted == n

    flood(10_000)
    after_first = metrics.series_count()
    miss_codes = _label_values(metrics, "failure_match_misses_total", "error_code")
    hit_codes = _label_values(metrics, "failure_match_hits_total", "error_code")
    with engine.connect() as conn:
        distinct_codes = conn.execute(
            select(func.count(func.distinct(failure_rollups.c.error_code)))
            .where(failure_rollups.c.tenant_id == "flood")
        ).scalar()
    assert distinct_codes > 5_000  # the flood really had thousands of distinct codes
    assert OTHER in miss_codes and OTHER in hit_codes  # the overflow went to OTHER
    with engine.connect() as conn:
        catalog_codes = set(conn.execute(select(catalog_entries.c.code)).scalars())
    non_catalog = (miss_codes | hit_codes) - catalog_codes
    assert non_catalog <= {UNKNOWN, OTHER}  # no client text becomes a label
    # The most series each family can have, whatever the flood: label values x categories.
    with engine.connect() as conn:
        n_categories = conn.execute(select(func.count(func.distinct(catalog_entries.c.category)))).scalar()
    n_labels = catalog_size + 2
    assert _series(metrics, "failure_match_misses_total") <= n_labels
    assert _series(metrics, "failure_match_hits_total") <= n_labels * n_categories
    flood(2_000)
    assert metrics.series_count() == after_first  # more random codes add no series at all


def test_catalog_series_exist_at_zero_before_first_event(engine):
    metrics = FailcatMetrics()
    pipeline = IngestPipeline(engine, metrics=metrics)
    reg = metrics.registry
    assert reg.get_sample_value("failure_match_misses_total", {"error_code": "UNKNOWN"}) == 0
    assert reg.get_sample_value("failure_agg_r2_upload_attempt_total", {"status": "fallback_local"}) == 0
    assert reg.get_sample_value("failure_persist_dropped_total") == 0
    pipeline.matcher  # noqa: B018 - loading the catalog primes one series per code
    with engine.connect() as conn:
        code, category, mode = conn.execute(
            select(catalog_entries.c.code, catalog_entries.c.category, catalog_entries.c.recovery_mode).limit(1)
        ).one()
    assert reg.get_sample_value("failure_match_hits_total", {"error_code": code, "category": category}) == 0
    assert reg.get_sample_value("recovery_success_total", {"error_code": code, "recovery_mode": mode}) == 0


def test_rejected_reason_label_is_capped(engine):
    metrics = FailcatMetrics()
    pipeline = IngestPipeline(engine, metrics=metrics)
    events = [{"tenant_id": "t", "run_id": "r", "error_message": "x", f"junk_{i}": 1} for i in range(300)]
    report = pipeline.ingest(events)
    assert report.rejected == 300
    reasons = _label_values(metrics, "failure_events_rejected_total", "reason")
    assert len(reasons) <= 21
    total = sum(
        s.value for fam in metrics.registry.collect() for s in fam.samples if s.name == "failure_events_rejected_total"
    )
    assert total == 300


def _pushed(port: int) -> dict[str, float]:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    pushed = {"hits": 0.0, "misses": 0.0}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.labels.get("job") != "failcat_ingest":
                continue
            if s.name == "failure_match_hits_total":
                pushed["hits"] += s.value
            elif s.name == "failure_match_misses_total":
                pushed["misses"] += s.value
    return pushed


def test_cli_ingest_pushes_to_pushgateway_and_counters_keep_growing(engine, db_url, tmp_path):
    binary = need_binary("prometheus-pushgateway")
    port = free_port()

    def run_ingest(n: int, offset: int) -> None:
        events = tmp_path / f"events{offset}.jsonl"
        lines = [
            {"tenant_id": "push", "run_id": f"r{i}",
             "error_message": "connect ECONNREFUSED 10.0.0.1:5432" if i % 3 else f"no idea {i}"}
            for i in range(offset, offset + n)
        ]
        events.write_text("\n".join(json.dumps(e) for e in lines) + "\n")
        out = subprocess.run(
            [str(VENV_BIN / "failcat"), "ingest", str(events)], capture_output=True, text=True, timeout=120,
            env={"PATH": "/usr/bin:/bin", "DATABASE_URL": db_url, "PUSHGATEWAY_URL": f"http://127.0.0.1:{port}",
                 "SPOOL_DIR": str(tmp_path / "spool")},
        )
        assert out.returncode == 0, out.stderr
        assert "could not push" not in out.stderr

    def db_counts() -> dict[str, float]:
        with engine.connect() as conn:
            rows = dict(conn.execute(
                select(failure_rollups.c.matched, func.sum(failure_rollups.c.failures))
                .where(failure_rollups.c.tenant_id == "push").group_by(failure_rollups.c.matched)
            ).all())
        return {"hits": rows.get(True, 0), "misses": rows.get(False, 0)}

    # Debian's build persists to /var/lib/prometheus by default: keep this gateway in memory only.
    with running([binary, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file="],
                 tmp_path / "pgw.log") as proc:
        wait_http(f"http://127.0.0.1:{port}/-/ready", proc=proc)
        run_ingest(30, 0)
        first = _pushed(port)
        assert first == db_counts() and first["hits"] > 0 and first["misses"] > 0
        # A second, larger run: the gateway's counters are the sum of both runs, never the last run alone.
        run_ingest(45, 1000)
        assert _pushed(port) == db_counts()
        assert _pushed(port)["hits"] > first["hits"]


def test_push_without_gateway_configured_is_a_no_op():
    from core.metrics import push_metrics

    assert push_metrics("x", metrics=FailcatMetrics()) is None
    assert push_metrics("x", metrics=FailcatMetrics(), url=f"http://127.0.0.1:{free_port()}", timeout=2) is False


def test_dashboard_metrics_server_starts_once_and_serves_recoveries(monkeypatch):
    import dashboard.metrics_server as ms
    from core.metrics import get_metrics

    monkeypatch.setattr(ms, "_port", None)
    port = ms.ensure_metrics_server(0, addr="127.0.0.1")
    assert port and ms.ensure_metrics_server(0, addr="127.0.0.1") == port  # second call: same server
    before = get_metrics().registry.get_sample_value(
        "recovery_success_total", {"recovery_mode": "MANUAL_INTERVENTION", "error_code": OTHER}) or 0
    get_metrics().count_recovery(recovery_mode="MANUAL_INTERVENTION", error_code="DASH_TEST", succeeded=True)
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    value = [
        s.value for fam in text_string_to_metric_families(text) for s in fam.samples
        if s.name == "recovery_success_total" and s.labels.get("error_code") == OTHER
        and s.labels.get("recovery_mode") == "MANUAL_INTERVENTION"
    ]
    assert value == [before + 1]


def test_metrics_server_starts_once_under_concurrent_calls(monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    import dashboard.metrics_server as ms

    monkeypatch.setattr(ms, "_port", None)
    monkeypatch.setattr(ms, "_failed", False)
    with ThreadPoolExecutor(8) as pool:
        ports = list(pool.map(lambda _: ms.ensure_metrics_server(0, addr="127.0.0.1"), range(16)))
    assert len(set(ports)) == 1 and ports[0]
    assert requests.get(f"http://127.0.0.1:{ports[0]}/metrics", timeout=5).status_code == 200


def test_metrics_server_on_a_busy_port_does_not_raise(monkeypatch):
    import socket

    import dashboard.metrics_server as ms

    monkeypatch.setattr(ms, "_port", None)
    monkeypatch.setattr(ms, "_failed", False)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert ms.ensure_metrics_server(busy.getsockname()[1], addr="127.0.0.1") is None
    assert ms.ensure_metrics_server(0, addr="127.0.0.1") is None  # not retried on every Streamlit rerun


def test_no_client_text_becomes_a_label(engine):
    metrics = FailcatMetrics()
    pipeline = IngestPipeline(engine, metrics=metrics)
    planted = "A_HREF_HTTP_ATTACKER_INVALID_X"
    report = pipeline.ingest([
        {"tenant_id": "planted", "run_id": "r", "error_code": planted.lower(), "error_message": "never seen before"},
        {"tenant_id": "planted", "run_id": "r", "error_message": "x", "attacker_invalid_field": 1},
    ])
    assert report.inserted == 1 and len(report.errors) == 1
    exposed = generate_latest(metrics.registry).decode()
    assert "ATTACKER" not in exposed.upper()
    assert metrics.registry.get_sample_value("failure_match_misses_total", {"error_code": OTHER}) == 1
    assert metrics.registry.get_sample_value("failure_events_rejected_total", {"reason": "unknown_field"}) == 1
