"""API latency: p50/p95 of stats, filtered list, unrecovered, the group list and the recovery PATCH against a running
`failcat api` (uvicorn) on a free loopback port, driven with httpx."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bench.servers import free_port, serving

ROOT = Path(__file__).resolve().parents[1]
FAILCAT = str(Path(sys.executable).with_name("failcat"))


@contextmanager
def running_api(url: str) -> Iterator[tuple[str, str]]:
    """(base URL, oncall token) of `failcat api` serving `url`; the server is stopped afterwards."""
    spool = tempfile.mkdtemp(prefix="failcat-bench-spool-")
    env = {**os.environ, "DATABASE_URL": url, "SPOOL_DIR": spool, "PROMETHEUS_URL": ""}
    token = subprocess.run([FAILCAT, "tokens", "create", "--name", "bench", "--role", "oncall", "--all-tenants"],
                           env=env, capture_output=True, text=True, check=True, cwd=ROOT).stdout.strip()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving([FAILCAT, "api", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                 f"{base}/readyz", env=env, cwd=ROOT, timeout_s=60):
        yield base, token


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _time(client: httpx.Client, method: str, path: str, expect: int = 200, **kw: Any) -> float:
    started = time.perf_counter()
    res = client.request(method, path, **kw)
    took = (time.perf_counter() - started) * 1000
    if res.status_code != expect:
        raise RuntimeError(f"{method} {path} answered {res.status_code}: {res.text[:300]}")
    return took


def measure(engine: Engine, url: str, *, requests: int, busy_tenant: str) -> dict[str, list[float]]:
    """Latencies in ms per endpoint (after a warm-up of a few requests each)."""
    with engine.connect() as conn:
        ids = [str(r[0]) for r in conn.execute(text(
            "SELECT id FROM failure_matches WHERE recovery_succeeded IS NOT TRUE AND tenant_id = :t "
            "ORDER BY created_at DESC LIMIT :n"), {"t": busy_tenant, "n": requests + 10})]
    calls: dict[str, Callable[[int], tuple[str, str, dict[str, Any]]]] = {
        "stats": lambda i: ("GET", "/api/v1/failures/stats",
                            {"params": {"tenant_id": busy_tenant} if i % 2 else {}}),
        # The API's default window (24 h), and a week.
        "list_filtered": lambda i: ("GET", "/api/v1/failures", {"params": {
            "tenant_id": busy_tenant, "status": "unrecovered", "matched": "true",
            **({"category": "TRANSIENT_NETWORK"} if i % 2 else {"severity": ["high", "critical"]}), "limit": 50}}),
        "list_filtered_7d": lambda i: ("GET", "/api/v1/failures", {"params": {
            "tenant_id": busy_tenant, "status": "unrecovered", "matched": "true", "since_hours": 168,
            **({"category": "TRANSIENT_NETWORK"} if i % 2 else {"severity": ["high", "critical"]}), "limit": 50}}),
        "unrecovered": lambda i: ("GET", "/api/v1/failures/unrecovered",
                                  {"params": {"tenant_id": busy_tenant} if i % 2 else {}}),
        # The on-call and Explore reads of groups: one tenant's unresolved ones by last seen, or every
        # tenant's by size, each with its total.
        "groups_list": lambda i: ("GET", "/api/v1/groups", {"params": (
            {"tenant_id": busy_tenant, "state": "open", "limit": 50} if i % 2
            else {"sort": "count", "limit": 50})}),
    }
    out: dict[str, list[float]] = {}
    with running_api(url) as (base, token):
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            for name, call in calls.items():
                for i in range(5):
                    method, path, kw = call(i)
                    _time(client, method, path, **kw)
                out[name] = []
                for i in range(requests):
                    method, path, kw = call(i)
                    out[name].append(_time(client, method, path, **kw))
            out["recovery_patch"] = []
            for i, fid in enumerate(ids[: requests + 5]):
                took = _time(client, "PATCH", f"/api/v1/failures/{fid}/recovery",
                             json={"recovery_succeeded": bool(i % 2), "notes": "bench"})
                if i >= 5:
                    out["recovery_patch"].append(took)
    return out


def summarise(samples: list[float]) -> tuple[float, float]:
    """(p50, p95) in ms."""
    return statistics.median(samples), _pct(samples, 0.95)
