"""The real server (`failcat api`, uvicorn, PostgreSQL) driven by the runbook's curl commands verbatim
(docs/runbook.md)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from core.schema import failure_matches, feature_flags, recovery_events
from tests.support.failures import event, hours_ago, ingest
from tests.support.servers import free_port as _free_port
from tests.support.servers import stop_process

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = ROOT / "docs" / "runbook.md"
FAILCAT = str(Path(sys.executable).with_name("failcat"))

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def guide_commands() -> dict[str, str]:
    """The runbook's API curl commands, keyed by the heading above each, exactly as written."""
    text = RUNBOOK.read_text()
    out: dict[str, str] = {}
    for heading, block in re.findall(r"###\s+([^\n]+)\n```bash\n(.*?)```", text, flags=re.S):
        if "localhost:8000" in block:
            out[heading.strip()] = block
    return out


@pytest.fixture
def live(pg_engine, pg_url, tmp_path) -> Iterator[dict[str, str]]:
    """`failcat api` on a free loopback port against the test PostgreSQL database; stopped afterwards."""
    env = {**os.environ, "DATABASE_URL": pg_url, "SPOOL_DIR": str(tmp_path / "spool"),
           "AUTH_MAX_FAILURES_PER_ADDRESS": "5"}
    env.pop("TRUSTED_PROXIES", None)
    port = _free_port()
    log = open(tmp_path / "server.log", "w+b")
    proc = subprocess.Popen([FAILCAT, "api", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"failcat api did not start: {log.read().decode(errors='replace')[-2000:]}")
            time.sleep(0.2)

        def token(role: str) -> str:
            res = subprocess.run([FAILCAT, "tokens", "create", "--name", f"live-{role}", "--role", role,
                                  "--all-tenants"], env=env, capture_output=True, text=True, check=True)
            return res.stdout.strip()

        yield {"base": base, "port": str(port), "TOKEN": token("oncall"), "ADMIN_TOKEN": token("admin")}
    finally:
        stop_process(proc, timeout=15)
        log.close()


def bash(command: str, live: dict[str, str], failure_id: str | None = None) -> str:
    """Run one guide command through bash; only host/port and {failure_id} are replaced."""
    command = command.replace("http://localhost:8000", live["base"])
    if failure_id is not None:
        command = command.replace("{failure_id}", failure_id)
    env = {**os.environ, "TOKEN": live["TOKEN"], "ADMIN_TOKEN": live["ADMIN_TOKEN"]}
    res = subprocess.run(["bash", "-euo", "pipefail", "-c", command], env=env, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, (command, res.stdout, res.stderr)
    return res.stdout


def test_guide_curl_commands_against_the_real_server(live, pg_engine):
    cmds = guide_commands()
    assert {"Mark Recovery Success", "Mark Recovery Failed", "List Unrecovered Failures",
            "4. Verify API Endpoints", "1. Immediate Rollback (Feature Flag)"} <= set(cmds), list(cmds)
    ids = ingest(pg_engine, [event("t1", minutes_ago=30), event("t2", minutes_ago=20, code="NET_CONNECTION_REFUSED",
                                                                message="connect ECONNREFUSED"),
                             event("t1", minutes_ago=10, code=None, message="unheard-of failure 42")])
    ok_id, fail_id = ids[0], ids[1]

    out = json.loads(bash(cmds["Mark Recovery Success"], live, ok_id))
    assert out["id"] == ok_id and out["recovery_succeeded"] is True and out["version"] == 2
    out = json.loads(bash(cmds["Mark Recovery Failed"], live, fail_id))
    assert out["id"] == fail_id and out["recovery_succeeded"] is False and out["recovery_status"] == "failed"
    # running the success command again is harmless
    assert json.loads(bash(cmds["Mark Recovery Success"], live, ok_id))["changed"] is False

    with pg_engine.connect() as conn:
        history = conn.execute(select(recovery_events).order_by(recovery_events.c.id)).mappings().all()
        rows = {str(r["id"]): r for r in conn.execute(select(failure_matches)).mappings()}
    assert [(str(h["failure_id"]), h["from_state"], h["to_state"], h["actor"], h["notes"]) for h in history] == [
        (ok_id, "unrecovered", "recovered", "ops-team", "Manually resolved by restarting service"),
        (fail_id, "unrecovered", "failed", "ops-team", "Requires code fix - escalating to dev"),
    ]
    assert rows[ok_id]["recovery_succeeded"] is True and rows[ok_id]["recovered_by"] == "ops-team"
    assert rows[fail_id]["recovery_attempted"] is True and rows[fail_id]["recovery_succeeded"] is False

    unrec = json.loads(bash(cmds["List Unrecovered Failures"], live))
    start = hours_ago(24)
    expected = sorted((r for r in rows.values() if r["recovery_succeeded"] is not True and r["created_at"] >= start),
                      key=lambda r: (r["severity_rank"], -r["created_at"].timestamp()))
    assert [f["id"] for f in unrec["failures"]] == [str(r["id"]) for r in expected]
    assert ok_id not in [f["id"] for f in unrec["failures"]] and unrec["limit"] == 50

    stats_cmd = cmds["4. Verify API Endpoints"]
    assert "| jq ." in stats_cmd
    stats = json.loads(bash(stats_cmd, live))
    matched = sum(r["catalog_entry_id"] is not None for r in rows.values())
    assert stats["total_failures"] == len(rows) == 3
    assert stats["matched_failures"] == matched and stats["unmatched_failures"] == len(rows) - matched
    assert (stats["recovery_attempts"], stats["recovery_successes"]) == (2, 1)
    assert stats["recovery_success_rate"] == pytest.approx(0.5)
    assert stats["hit_rate"] == pytest.approx(matched / len(rows))

    metrics = httpx.get(f"{live['base']}/metrics").text
    assert re.search(r'recovery_success_total\{error_code="NET_TIMEOUT",recovery_mode="[A-Z_]+"\} 1\.0', metrics)
    assert re.search(r'recovery_failure_total\{error_code="NET_CONNECTION_REFUSED",recovery_mode="[A-Z_]+"\} 1\.0',
                     metrics)

    # the rollback switch: the curl sends its JSON without a Content-Type header
    bash(cmds["1. Immediate Rollback (Feature Flag)"], live)
    with pg_engine.connect() as conn:
        assert conn.execute(select(feature_flags.c.enabled)
                            .where(feature_flags.c.name == "failure_catalog_m9")).scalar() is False
    r = httpx.post(f"{live['base']}/api/v1/failures", json=event(),
                   headers={"Authorization": f"Bearer {live['ADMIN_TOKEN']}"})
    assert r.status_code == 503 and "failure_catalog_m9" in r.json()["detail"]
    r = httpx.get(f"{live['base']}/api/v1/failures/{uuid.uuid4()}",
                  headers={"Authorization": f"Bearer {live['TOKEN']}"})
    assert r.status_code == 404


def test_forged_forwarded_addresses_do_not_escape_the_throttle_and_valid_tokens_pass(live):
    codes = [httpx.get(f"{live['base']}/api/v1/failures", timeout=10,
                       headers={"Authorization": f"Bearer fct_guess{i}", "X-Forwarded-For": f"10.9.9.{i}"}
                       ).status_code for i in range(8)]
    assert codes == [401] * 5 + [429] * 3
    # Clients behind one proxy share its address: a valid token is never refused for it.
    ok = httpx.get(f"{live['base']}/api/v1/failures", headers={"Authorization": f"Bearer {live['TOKEN']}"},
                   timeout=10)
    assert ok.status_code == 200, ok.text
