"""The dashboard process's /metrics endpoint: prometheus_client's HTTP server, started once per process.

Streamlit re-runs scripts on every interaction, so the server is guarded by a process-wide lock and
started only on the first call; recoveries marked in forms count on get_metrics() and show up here.
"""
from __future__ import annotations

import threading

from prometheus_client import start_http_server

from core.metrics import get_metrics
from core.settings import get_settings

_lock = threading.Lock()
_port: int | None = None


def ensure_metrics_server(port: int | None = None, addr: str = "0.0.0.0") -> int | None:  # noqa: S104
    """Serve get_metrics() on METRICS_PORT (or `port`; 0 picks a free one) once; returns the bound port."""
    global _port
    with _lock:
        if _port is not None:
            return _port
        if port is None:
            port = get_settings().metrics_port
        if port is None:
            return None
        # Prometheus scrapes from another host, hence all interfaces by default; tests pass 127.0.0.1.
        server, _thread = start_http_server(port, addr=addr, registry=get_metrics().registry)
        _port = int(server.server_port)
        return _port


def metrics_server_port() -> int | None:
    """The port this process serves metrics on, or None when not started."""
    return _port
