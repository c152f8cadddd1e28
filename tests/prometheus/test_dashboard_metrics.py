"""The dashboard process serves its metrics on METRICS_PORT; recoveries marked by the On-call handler count there."""
from __future__ import annotations

import uuid

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

import dashboard.metrics_server as ms
from core.schema import failure_matches as fm
from core.settings import get_settings
from dashboard.oncall import mark
from loaders.ingest.pipeline import IngestPipeline
from tests.support.apptest import app_for, signed_in

from .helpers import free_port


def _scraped(port: int, mode: str, code: str) -> float:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    values = [s.value for fam in text_string_to_metric_families(text) for s in fam.samples
              if s.name == "recovery_success_total" and s.labels == {"recovery_mode": mode, "error_code": code}]
    return values[0] if values else 0.0


@pytest.mark.slow
def test_app_starts_metrics_server_and_oncall_marks_count(engine, metrics, monkeypatch):
    port = free_port()
    monkeypatch.setenv("METRICS_PORT", str(port))
    monkeypatch.setenv("METRICS_ADDR", "127.0.0.1")
    monkeypatch.setattr(ms, "_port", None)
    monkeypatch.setattr(ms, "_failed", False)
    get_settings.cache_clear()
    report = IngestPipeline(engine, metrics=metrics).ingest(
        [{"tenant_id": "dash", "run_id": "r1", "error_code": "NET_TIMEOUT", "error_message": "read timed out"}])
    fid = report.ids[0]
    principal = signed_in(engine, f"olga-{uuid.uuid4().hex[:6]}", "oncall")

    at = app_for("app.py", principal).run()  # the entry script starts the server, once per process
    assert not at.exception, at.exception
    assert ms.metrics_server_port() == port
    at.run()
    assert ms.metrics_server_port() == port  # a rerun does not start a second one

    with engine.connect() as conn:
        mode, code = conn.execute(select(fm.c.recovery_mode, fm.c.error_code)
                                  .where(fm.c.id == uuid.UUID(fid))).one()
    before = _scraped(port, mode, code)
    # What the On-call form's submit runs in the dashboard process (pages/oncall.py -> dashboard.oncall.mark).
    done = mark(principal, items=[(fid, 1)], succeeded=True, recovered_by=principal.name, notes=None)
    assert done.ok, done
    with engine.connect() as conn:
        assert conn.execute(select(fm.c.recovery_succeeded).where(fm.c.id == uuid.UUID(fid))).scalar_one() is True
    assert _scraped(port, mode, code) == before + 1
