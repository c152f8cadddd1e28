"""A running stack for the real-Prometheus tests: the failcat API (subprocess, PostgreSQL test database)
and a real Prometheus scraping it every second with the project's rules (alerts rendered with `for: 0s`).
"""
from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import yaml
from sqlalchemy.engine import Engine

from core.db import make_engine

from .helpers import PROM_DIR, VENV_BIN, free_port, need_binary, render_fast_alert_rules, running, wait_http


@dataclass
class Stack:
    """URLs and handles of the running API and Prometheus, and what the test sent."""

    api_url: str
    prom_url: str
    token: str
    engine: Engine
    db_url: str
    started: datetime
    before_traffic: dict = field(default_factory=dict)
    sent: list[dict] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def post(self, events: list[dict]) -> dict:
        """POST a batch to /api/v1/failures and return the JSON answer (must be 2xx)."""
        resp = requests.post(f"{self.api_url}/api/v1/failures", json=events, timeout=30,
                             headers={"Authorization": f"Bearer {self.token}"})
        assert resp.status_code in (200, 201, 207), resp.text
        return resp.json()

    def patch_recovery(self, failure_id: str, succeeded: bool) -> None:
        """Mark one failure's recovery through the API."""
        resp = requests.patch(f"{self.api_url}/api/v1/failures/{failure_id}/recovery", timeout=30,
                              headers={"Authorization": f"Bearer {self.token}"},
                              json={"recovery_succeeded": succeeded, "recovered_by": "prom-test"})
        assert resp.status_code == 200, resp.text

    def query(self, promql: str) -> list[dict]:
        """Instant query against the real Prometheus; asserts success."""
        resp = requests.get(f"{self.prom_url}/api/v1/query", params={"query": promql}, timeout=10)
        body = resp.json()
        assert resp.status_code == 200 and body["status"] == "success", body
        return body["data"]["result"]

    def value(self, promql: str) -> float | None:
        """Sum of an instant query's values, or None when it has no series."""
        result = self.query(promql)
        return sum(float(r["value"][1]) for r in result) if result else None

    def wait_for(self, what: str, check, timeout: float = 60.0):  # noqa: ANN001
        """Poll `check()` until it returns a truthy value; fail with `what` after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = check()
            if last:
                return last
            time.sleep(0.5)
        pytest.fail(f"timed out waiting for {what} (last: {last})")


def _cli(db_url: str, tmp: Path, *args: str) -> str:
    out = subprocess.run([str(VENV_BIN / "failcat"), *args], capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "DATABASE_URL": db_url, "SPOOL_DIR": str(tmp / "spool")})
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def prometheus_config(tmp: Path, targets: list[str]) -> Path:
    """prometheus.yml for tests: 1s scrape and evaluation, real recording rules, fast copy of the alert rules."""
    fast = render_fast_alert_rules(tmp / "alert_rules_fast.yml")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(PROM_DIR / "recording_rules.yml"), str(fast)],
        "scrape_configs": [{"job_name": "failcat-api", "metrics_path": "/metrics",
                            "static_configs": [{"targets": targets}]}],
    }
    path = tmp / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def stack(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """API + Prometheus, warmed up: catalog series exist at 0 before Prometheus' first scrape."""
    from tests.conftest import reset_database

    prom_bin = need_binary("prometheus")
    tmp = tmp_path_factory.mktemp("promstack")
    engine = make_engine(pg_url)
    reset_database(engine)
    token = _cli(pg_url, tmp, "tokens", "create", "--name", f"prom-{uuid.uuid4().hex[:6]}", "--role", "admin",
                 "--all-tenants")
    api_port, prom_port = free_port(), free_port()
    api_env = {"DATABASE_URL": pg_url, "SPOOL_DIR": str(tmp / "spool"), "PROMETHEUS_URL": "", "PUSHGATEWAY_URL": ""}
    with running([str(VENV_BIN / "failcat"), "api", "--host", "127.0.0.1", "--port", str(api_port),
                  "--log-level", "warning"], tmp / "api.log", env=api_env) as api:
        api_url = f"http://127.0.0.1:{api_port}"
        wait_http(f"{api_url}/healthz", proc=api)
        st = Stack(api_url=api_url, prom_url=f"http://127.0.0.1:{prom_port}", token=token, engine=engine,
                   db_url=pg_url, started=datetime.now(UTC))
        # Warm-up (before Prometheus runs): the first ingest loads the catalog, which creates every catalog
        # code's series at 0. Its own miss goes to a code the test never sends again, so it stays flat.
        answer = st.post([{"tenant_id": "warmup", "run_id": "w", "error_code": "WARMUP_PROBE",
                           "error_message": "qzx warm-up probe 42"}])
        assert answer["inserted"] == 1
        config = prometheus_config(tmp, [f"127.0.0.1:{api_port}"])
        with running([prom_bin, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'tsdb'}",
                      f"--web.listen-address=127.0.0.1:{prom_port}"], tmp / "prometheus.log") as prom_proc:
            wait_http(f"{st.prom_url}/-/ready", proc=prom_proc)
            st.started = datetime.now(UTC)
            st.wait_for("three scrapes of the API",
                        lambda: (st.value('count_over_time(up{job="failcat-api"}[1m])') or 0) >= 3
                        and st.value('up{job="failcat-api"}') == 1)
            # No traffic yet (the warm-up came before the first scrape): what the rules say about that.
            st.before_traffic = {
                "series": {r: st.query(r) for r in ("failcat:hit_rate:ratio_rate10m", "failcat:miss_rate:ratio_rate10m",
                                                    "failcat:recovery_success_rate:ratio_rate30m")},
                "alerts": requests.get(f"{st.prom_url}/api/v1/alerts", timeout=10).json()["data"]["alerts"],
                "rule_health": {r["name"]: r.get("health") for g in requests.get(
                    f"{st.prom_url}/api/v1/rules", timeout=10).json()["data"]["groups"] for r in g["rules"]},
            }
            yield st
    reset_database(engine)
    engine.dispose()
