"""Shared helpers for the Prometheus tests: free ports, waiting for HTTP, managed subprocesses."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.support.servers import free_port, stop_process  # noqa: F401  (re-exported for the prometheus tests)

ROOT = Path(__file__).resolve().parents[2]
PROM_DIR = ROOT / "deploy" / "prometheus"
GRAFANA_JSON = ROOT / "deploy" / "grafana" / "failure_catalog.json"
VENV_BIN = ROOT / ".venv" / "bin"


def need_binary(name: str) -> str:
    """Path of an installed service binary; a missing one fails the test (never skips)."""
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        pytest.fail(f"{name} is not installed (scripts/ensure_services.sh installs it)")
    return path


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    """Wait until `url` answers 200, failing early if `proc` exits."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"process for {url} exited with {proc.returncode}: {_tail(proc)}")
        try:
            resp = requests.get(url, timeout=2)
            if resp.status_code == 200:
                return
            last = resp.status_code
        except requests.RequestException as exc:
            last = exc
        time.sleep(0.2)
    pytest.fail(f"{url} did not come up within {timeout}s (last: {last}); {_tail(proc)}")


def _tail(proc: subprocess.Popen | None) -> str:
    log = getattr(proc, "log_path", None)
    if log and Path(log).exists():
        return Path(log).read_text(errors="replace")[-2000:]
    return ""


@contextmanager
def running(args: list[str], log_path: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """Run a server process for the duration of the block, output to log_path; stopped afterwards."""
    fh = open(log_path, "wb")
    proc = subprocess.Popen(args, stdout=fh, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                            cwd=ROOT)
    proc.log_path = str(log_path)  # type: ignore[attr-defined]
    try:
        yield proc
    finally:
        stop_process(proc, timeout=10)
        fh.close()


def render_fast_alert_rules(dest: Path) -> Path:
    """Test-only copy of alert_rules.yml with every `for:` set to 0s, so an alert fires at the next evaluation.

    The expressions, labels and thresholds are the real ones; only the hold time differs (a 10m/30m
    `for:` cannot be waited out in a test). See deploy/prometheus/README.md.
    """
    import yaml

    doc = yaml.safe_load((PROM_DIR / "alert_rules.yml").read_text())
    for group in doc["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                rule["for"] = "0s"
    dest.write_text(yaml.safe_dump(doc, sort_keys=False))
    return dest
