"""`make run`'s script: serves on the ports it is given and stops both servers cleanly on Ctrl-C."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from core.db import make_engine
from core.types import utcnow
from loaders.ingest.pipeline import IngestPipeline
from loaders.migrate import migrate
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_run_serves_on_the_given_ports_and_ctrl_c_stops_both(tmp_path):
    url = f"sqlite:///{tmp_path / 'run.db'}"
    engine = make_engine(url)
    migrate(engine)  # a database with failures already: the script does not seed it
    IngestPipeline(engine).ingest([{"tenant_id": "acme", "run_id": "r1", "error_code": "NET_TIMEOUT",
                                    "error_message": "read timed out", "occurred_at": utcnow().isoformat()}])
    engine.dispose()
    api, dashboard = free_port(), free_port()
    env = {**os.environ, "DATABASE_URL": url, "API_PORT": str(api), "DASHBOARD_PORT": str(dashboard)}
    # Its own process group, as a terminal's foreground job: Ctrl-C sends SIGINT to every process in it.
    proc = subprocess.Popen(["scripts/run.sh"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not (_listening(api) and _listening(dashboard)):
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "the servers did not start"
            time.sleep(0.5)
        os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, out
    assert "run: stopped the dashboard and the API." in out
    assert f"http://127.0.0.1:{dashboard}" in out and f"http://127.0.0.1:{api}/docs" in out
    assert "Traceback" not in out
    assert not _listening(api) and not _listening(dashboard)
