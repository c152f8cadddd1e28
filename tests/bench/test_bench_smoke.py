"""Smoke test of the bench suite: `python -m bench --quick` runs end to end and prints well-formed figures.

Timings are not asserted (the machine is shared); only the shape of every JSON line and that figures are
positive, and that the scratch databases are gone afterwards.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PG_ADMIN_URL

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PAGES = ("overview", "explore", "oncall", "trends", "catalog", "failure_detail")


def _bench_databases() -> set[str]:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return {r[0] for r in conn.execute(text(
                "SELECT datname FROM pg_database WHERE datname LIKE 'failcat\\_bench\\_%'"))}
    except Exception as exc:  # PostgreSQL missing fails, never skips
        pytest.fail(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}")
    finally:
        admin.dispose()


def test_quick_bench_prints_wellformed_positive_figures(tmp_path):
    before = _bench_databases()
    args = ["--quick", "--api-requests", "10", "--rows", "20000", "--small-rows", "5000"]
    res = subprocess.run([sys.executable, "-m", "bench", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    lines = [json.loads(line) for line in res.stdout.splitlines() if line.strip()]
    names = set()
    ingest_engines = set()
    for line in lines:
        assert isinstance(line["name"], str) and line["name"]
        assert isinstance(line["unit"], str) and line["unit"]
        assert isinstance(line["value"], (int, float)) and line["value"] > 0, line
        for key in ("baseline", "ratio"):  # comparisons; bench.matcher's own lines carry a baseline only
            if key in line:
                assert isinstance(line[key], (int, float)) and line[key] > 0, line
        if line["name"].startswith(("page.", "ingest_")):  # our comparisons carry both
            assert "baseline" in line and "ratio" in line, line
        names.add(line["name"])
        if line["name"] == "ingest_pipeline_events_per_s":
            ingest_engines.add(line["engine"])
    for page in PAGES:
        for scope in ("all", "busy"):
            assert f"page.{page}.{scope}.vs_naive" in names
            assert f"page.{page}.{scope}.vs_small" in names
    for endpoint in ("stats", "list_filtered", "unrecovered", "recovery_patch"):
        assert {f"api.{endpoint}.p50", f"api.{endpoint}.p95"} <= names
    # The pipeline on each engine, beside that engine's plainest bulk insert of the same rows.
    assert ingest_engines == {"postgresql", "sqlite"}
    assert "copy_events_per_s" in names and "executemany_events_per_s" in names
    for page in (*PAGES, "exports", "admin"):  # every page in Chromium, as a link; the sidebar's pages from it
        assert f"browser.{page}.postgresql.link_ms" in names
        assert page == "failure_detail" or f"browser.{page}.postgresql.sidebar_ms" in names
    for library in ("none", "plotly", "vega_lite"):  # one page, three ways of drawing its charts
        assert f"browser.chart_library.{library}.link_ms" in names
    # Its scratch databases are dropped (other runs' may exist at the same time: compare with before).
    assert _bench_databases() - before == set()


def test_quick_bench_sets_explore_beside_datasette_on_the_same_sqlite_file():
    args = ["--quick", "--sqlite", "--only", "datasette", "--rows", "20000", "--small-rows", "5000"]
    res = subprocess.run([sys.executable, "-m", "bench", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    lines = {(line := json.loads(raw))["name"]: line for raw in res.stdout.splitlines() if raw.strip()}
    for view in ("tenant_week", "all_30d", "tenant_code"):
        line = lines[f"browser.explore.{view}.vs_datasette"]
        assert line["engine"] == "sqlite" and line["unit"] == "ms" and line["rounds"] == 1
        assert line["value"] > 0 and line["baseline"] > 0
        assert line["ratio"] == pytest.approx(line["value"] / line["baseline"], rel=1e-3)  # printed rounded
    assert "sqlite_copy_rows_per_s" in lines
