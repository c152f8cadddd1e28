"""failcat export / retry-exports / r2 against real servers: one-line errors, fallbacks, lifecycle, races."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cli import main
from core.schema import failure_pattern_exports as fpe
from core.settings import get_settings
from tests.support.exports import seed_failures
from tests.support.s3 import BUCKET

FAILCAT = str(Path(sys.executable).parent / "failcat")


def _rows(engine):
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(fpe).order_by(fpe.c.id)).mappings()]


def _invoke(args):
    result = CliRunner().invoke(main, args)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def test_cli_export_uploads(engine, r2_env):
    seed_failures(engine)
    result = _invoke(["export", "--tenant", "t2", "--days", "7", "--min-occurrences", "1", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["status"] == "uploaded"
    head = r2_env.client().head_object(Bucket=BUCKET, Key=info["key"])
    assert head["Metadata"]["sha256"] == info["sha256"] == _rows(engine)[0]["sha256"]


def test_bad_credentials_one_line_error_and_fallback(engine, auth_moto_url, monkeypatch):
    monkeypatch.setenv("R2_ENDPOINT_URL", auth_moto_url)
    monkeypatch.setenv("R2_BUCKET", BUCKET)
    monkeypatch.setenv("R2_ACCESS_KEY_ID", "not-a-real-key")
    monkeypatch.setenv("R2_SECRET_ACCESS_KEY", "wrong")
    get_settings.cache_clear()
    seed_failures(engine)
    result = _invoke(["export"])
    assert result.exit_code == 0
    warnings = [line for line in result.stderr.splitlines() if line.startswith("failcat: warning:")]
    assert len(warnings) == 1 and "refused the credentials" in warnings[0] and "wrong" not in warnings[0]
    [row] = _rows(engine)
    assert row["status"] == "fallback_local" and "credentials" in row["notes"]
    assert Path(row["local_path"]).is_file()
    strict = _invoke(["export", "--require-upload"])
    assert strict.exit_code == 1
    # retry-exports with the same refused credentials: deferred with a warning line, not a traceback.
    retry = _invoke(["retry-exports"])
    assert retry.exit_code == 0 and "deferred=2" in retry.stdout
    assert "refused the credentials" in retry.stderr
    # r2 verify: a one-line `failcat: error:`.
    verify = _invoke(["r2", "verify", "--list"])
    assert verify.exit_code == 1
    assert verify.stderr.strip().count("\n") == 0 and "refused the credentials" in verify.stderr


def test_missing_bucket_one_line_error_and_fallback(engine, r2_env, monkeypatch):
    monkeypatch.setenv("R2_BUCKET", "no-such-bucket")
    get_settings.cache_clear()
    result = _invoke(["export"])
    assert result.exit_code == 0
    assert "failcat: warning: R2 upload failed (R2 bucket 'no-such-bucket' does not exist" in result.stderr
    [row] = _rows(engine)
    assert row["status"] == "fallback_local" and "does not exist" in row["notes"]
    lifecycle = _invoke(["r2", "lifecycle"])
    assert lifecycle.exit_code == 1 and "does not exist" in lifecycle.stderr
    assert len(lifecycle.stderr.strip().splitlines()) == 1


def test_without_r2_settings_export_is_local_and_says_so(engine, metrics):
    result = _invoke(["export"])
    assert result.exit_code == 0
    assert result.stdout.startswith("fallback_local ")
    assert "failcat: note: R2 is not configured; export written locally" in result.stderr
    [row] = _rows(engine)
    assert row["status"] == "fallback_local" and Path(row["local_path"]).parent == get_settings().export_fallback_dir
    retry = _invoke(["retry-exports"])
    assert retry.exit_code == 1 and "failcat: error: R2 is not configured" in retry.stderr


def test_lifecycle_rule_and_verify(engine, r2_env):
    client = r2_env.client()
    client.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration={"Rules": [
        {"ID": "someone-else", "Filter": {"Prefix": "other/"}, "Status": "Enabled", "Expiration": {"Days": 3}}]})
    result = _invoke(["r2", "lifecycle"])
    assert result.exit_code == 0, result.output
    rules = {r["ID"]: r for r in client.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]}
    ours = [r for r in rules.values() if r.get("Filter", {}).get("Prefix") == "failure_patterns/"]
    assert len(ours) == 1 and ours[0]["Expiration"]["Days"] == 90 and ours[0]["Status"] == "Enabled"
    assert "someone-else" in rules  # other rules are kept
    assert _invoke(["r2", "lifecycle"]).exit_code == 0  # idempotent
    assert len(client.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]) == 2

    seed_failures(engine)
    exported = json.loads(_invoke(["export", "--json"]).stdout)
    listing = _invoke(["r2", "verify", "--list", "--json"])
    assert [o["key"] for o in json.loads(listing.stdout)] == [exported["key"]]
    head = _invoke(["r2", "verify", "--head", exported["key"]])
    assert head.exit_code == 0 and "-> match" in head.stdout and exported["sha256"] in head.stdout
    missing = _invoke(["r2", "verify", "--head", "failure_patterns/nope.json"])
    assert missing.exit_code == 1 and "failcat: error:" in missing.stderr


@pytest.mark.slow
def test_two_retry_workers_upload_each_fallback_exactly_once(engine, r2_env, metrics):
    seed_failures(engine)
    r2_env.stop()
    from loaders.exports.exporter import run_export
    from tests.loaders.exports.test_exporter import fast_store

    store = fast_store()
    n = 8
    for i in range(n):
        assert run_export(engine, tenant_id=None, min_occurrences=1 + i % 3, metrics=metrics,
                          store=store).status == "fallback_local"
    r2_env.start()
    env = dict(os.environ)
    procs = [subprocess.Popen([FAILCAT, "retry-exports"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert "Traceback" not in err
    uploaded = sum(int(re.search(r"uploaded=(\d+)", out).group(1)) for out, _ in outs)
    assert uploaded == n
    rows = _rows(engine)
    assert len(rows) == n and all(r["status"] == "uploaded" and r["retry_count"] == 1 for r in rows)
    versions = r2_env.versions()
    assert len(versions) == n  # one PUT per fallback, across both workers
    assert sorted(v["Key"] for v in versions) == sorted(r["s3_key"] for r in rows)
    assert not list(get_settings().export_fallback_dir.glob("*.json"))


@pytest.mark.slow
def test_retry_loop_exits_cleanly_on_sigterm(engine, r2_env):
    proc = subprocess.Popen([FAILCAT, "retry-exports", "--every", "15m"], env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    line = ""
    while time.monotonic() < deadline and "pending=" not in line:
        line = proc.stdout.readline()
    assert "pending=0" in line
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "received SIGTERM" in err and "retry worker stopped" in err and "Traceback" not in err
