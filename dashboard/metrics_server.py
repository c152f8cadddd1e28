"""The dashboard process's /metrics endpoint: prometheus_client's HTTP server, started once per process.

Streamlit re-runs scripts on every interaction, so the server is guarded by a process-wide lock and
started only on the first call; recoveries marked in forms count on get_metrics() and show up here.
"""
from __future__ import annotations

import logging
import os
import threading

from prometheus_client import start_http_server

from core.metrics import get_metrics
from core.settings import get_settings

log = logging.getLogger(__name__)
_lock = threading.Lock()
_port: int | None = None
_failed = False


def ensure_metrics_server(port: int | None = None, addr: str | None = None) -> int | None:
    """Serve get_metrics() on METRICS_PORT (or `port`; 0 picks a free one) once; returns the bound port.

    The interface is `addr`, else METRICS_ADDR, else all interfaces (Prometheus scrapes from another host).
    """
    global _port, _failed
    addr = addr or os.environ.get("METRICS_ADDR") or "0.0.0.0"  # noqa: S104
    with _lock:
        if _port is not None or _failed:
            return _port
        if port is None:
            port = get_settings().metrics_port
        if port is None:
            return None
        try:
            server, _thread = start_http_server(port, addr=addr, registry=get_metrics().registry)
        except OSError as exc:
            # A busy port must not break the dashboard; say so once instead of on every rerun.
            log.warning("metrics server not started on %s:%s: %s", addr, port, exc)
            _failed = True
            return None
        _port = int(server.server_port)
        return _port


def metrics_server_port() -> int | None:
    """The port this process serves metrics on, or None when not started."""
    return _port
