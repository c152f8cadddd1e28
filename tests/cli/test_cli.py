"""The failcat command on both engines: through click's runner and as a real subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select

from cli import main as cli
from core.db import create_database, drop_database, make_engine
from core.schema import catalog_entries, failure_matches, recovery_events
from core.settings import ROOT
from loaders.catalog.file import read_catalog_file
from tests.support.servers import free_port as _free_port

FAILCAT = str(Path(sys.executable).with_name("failcat"))
PG_ADMIN = os.environ.get("FAILCAT_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


def run_failcat(*args: str, env_extra: dict[str, str] | None = None, stdin: str | None = None,
                timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([FAILCAT, *args], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True,
                          timeout=timeout)


def assert_one_line_error(proc_or_result, *, contains: str = "") -> None:
    code = getattr(proc_or_result, "returncode", getattr(proc_or_result, "exit_code", None))
    stderr = proc_or_result.stderr
    assert code not in (0, None), stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("failcat: error: "), stderr
    assert "Traceback" not in stderr and "Traceback" not in getattr(proc_or_result, "stdout", "")
    assert contains.lower() in lines[0].lower(), lines[0]


def _count(engine, table=failure_matches, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


@pytest.fixture
def fresh_url(engine, tmp_path):
    """An empty (unmigrated) database of the same kind as `engine`, removed afterwards."""
    if engine.dialect.name == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"failcat_cli_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    create_database(admin, name)
    yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    drop_database(admin, name)
    admin.dispose()


# -- click runner --------------------------------------------------------------------------------------------
def test_runner_seed_ingest_validate_catalog(engine, tmp_path):
    runner = CliRunner()
    seeded = runner.invoke(cli, ["seed", "--events", "400", "--tenants", "2", "--days", "1", "--seed", "9"])
    assert seeded.exit_code == 0, seeded.output
    assert "seeded 400 failures" in seeded.stdout
    assert _count(engine) == 400
    assert _count(engine, recovery_events) == _count(engine, failure_matches, failure_matches.c.recovery_attempted)

    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps({"tenant_id": "cli", "run_id": f"r{i}", "error_message": "Read timed out"})
                              for i in range(7)) + "\n")
    ingested = runner.invoke(cli, ["ingest", str(path), "--json"])
    assert ingested.exit_code == 0, ingested.output
    assert json.loads(ingested.stdout.strip().splitlines()[-1])["inserted"] == 7
    assert _count(engine, failure_matches, failure_matches.c.tenant_id == "cli") == 7

    validated = runner.invoke(cli, ["validate", "--seed", "1", "--events", "300"])
    assert validated.exit_code == 0, validated.output
    assert "persisted" in validated.stdout and "validation passed" in validated.stdout

    loaded = runner.invoke(cli, ["catalog", "load"])
    assert loaded.exit_code == 0, loaded.output
    assert _count(engine, catalog_entries) == len(read_catalog_file()[1])


def test_runner_seed_refuses_while_the_flag_is_off(engine):
    from core.schema import feature_flags

    with engine.begin() as conn:
        conn.execute(feature_flags.update().values(enabled=False))
    result = CliRunner().invoke(cli, ["seed", "--events", "10"])
    assert_one_line_error(result, contains="disabled")
    assert _count(engine) == 0


# -- real subprocesses ---------------------------------------------------------------------------------------
def test_subprocess_migrate_seed_ingest_validate_on_a_fresh_database(engine, fresh_url, tmp_path):
    env = {"DATABASE_URL": fresh_url, "SPOOL_DIR": str(tmp_path / "spool")}
    before = run_failcat("validate", env_extra=env)
    assert_one_line_error(before, contains="failcat migrate")

    migrated = run_failcat("migrate", env_extra=env)
    assert migrated.returncode == 0, migrated.stderr
    assert "schema up to date" in migrated.stdout

    seeded = run_failcat("seed", "--events", "300", "--tenants", "3", "--days", "2", env_extra=env)
    assert seeded.returncode == 0, seeded.stderr

    good = [{"tenant_id": "sub", "run_id": "r1", "error_message": f"[Errno 111] Connection refused #{i}"}
            for i in range(4)]
    ingested = run_failcat("ingest", "-", "--json", env_extra=env,
                           stdin="\n".join(json.dumps(e) for e in good) + "\n")
    assert ingested.returncode == 0, ingested.stderr

    validated = run_failcat("validate", "--events", "300", env_extra=env)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    for check in ("persisted", "matched", "unmatched", "recovery_attempted", "recovery_succeeded"):
        assert check in validated.stdout

    loaded = run_failcat("catalog", "load", env_extra=env)
    assert loaded.returncode == 0, loaded.stderr

    fresh = make_engine(fresh_url)
    try:
        assert _count(fresh) == 300 + 4  # validate deleted what it wrote
        assert _count(fresh, failure_matches, failure_matches.c.tenant_id == "sub") == 4
        assert _count(fresh, failure_matches, failure_matches.c.tenant_id.like("validate-%")) == 0
    finally:
        fresh.dispose()


def test_ingest_reports_line_errors_and_keeps_good_lines(engine, db_url, tmp_path):
    path = tmp_path / "mixed.jsonl"
    lines = [
        json.dumps({"tenant_id": "mix", "run_id": "r", "error_message": "Read timed out"}),
        "{not json",
        json.dumps({"tenant_id": "mix", "error_message": "no run id"}),
        "",
        json.dumps({"tenant_id": "mix", "run_id": "r", "error_message": "x", "step_index": "seven"}),
        json.dumps({"tenant_id": "mix", "run_id": "r", "error_message": "Connection reset by peer"}),
    ]
    path.write_text("\n".join(lines) + "\n")
    proc = run_failcat("ingest", str(path), "--json", env_extra={"DATABASE_URL": db_url})
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith(str(path))]
    assert any(":line 2: (json): not valid JSON" in e for e in errors), proc.stderr
    assert any(":line 3: run_id: " in e for e in errors), proc.stderr
    assert any(":line 5: step_index: " in e for e in errors), proc.stderr
    assert "Traceback" not in proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["inserted"] == 2 and summary["rejected"] == 3
    assert _count(engine, failure_matches, failure_matches.c.tenant_id == "mix") == 2


def test_progress_bar_on_a_large_file(engine, db_url, tmp_path):
    path = tmp_path / "large.jsonl"
    filler = "x" * 150
    with path.open("w") as fh:
        for i in range(6000):
            fh.write(json.dumps({"tenant_id": "big", "run_id": f"r{i // 10}",
                                 "error_message": f"Read timed out {i} {filler}"}) + "\n")
    assert path.stat().st_size > 1_000_000
    proc = run_failcat("ingest", str(path), "--progress", env_extra={"DATABASE_URL": db_url})
    assert proc.returncode == 0, proc.stderr
    assert "ingest" in proc.stderr and "100%" in proc.stderr and "|" in proc.stderr
    quiet = run_failcat("ingest", str(path), "--no-progress", env_extra={"DATABASE_URL": db_url})
    assert "100%" not in quiet.stderr
    assert _count(engine, failure_matches, failure_matches.c.tenant_id == "big") == 12000  # no ids: stored twice


# -- wrong URL, unreachable server ---------------------------------------------------------------------------
BAD_URLS = {
    "not a url": "this is not a url",
    "unsupported": "mysql://root@127.0.0.1/failcat",
    "closed port": "postgresql://postgres@127.0.0.1:{port}/failcat",
    "missing database": "postgresql://postgres@127.0.0.1:5432/failcat_no_such_db_{hex}",
    "unopenable sqlite": "sqlite:///{tmp}",
}


COMMANDS = [["migrate"], ["validate"], ["seed", "--events", "5"], ["catalog", "load"]]
# Every kind of bad URL with validate, and every command against a stopped server (each case is a process).
CASES = [(kind, ["validate"]) for kind in BAD_URLS] + [("closed port", c) for c in COMMANDS if c != ["validate"]]


@pytest.mark.parametrize(("kind", "command"), CASES, ids=[f"{k}-{c[0]}" for k, c in CASES])
def test_bad_database_gives_one_line_error(kind, command, tmp_path):
    url = BAD_URLS[kind].format(port=_free_port(), hex=uuid.uuid4().hex[:6], tmp=tmp_path)
    proc = run_failcat(*command, env_extra={"DATABASE_URL": url, "SPOOL_DIR": str(tmp_path / "spool")}, timeout=60)
    assert_one_line_error(proc)
    assert "password" not in proc.stderr.lower() or "authentication" in proc.stderr.lower()


def test_ingest_with_server_down_spools_and_says_so(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text(json.dumps({"tenant_id": "t", "run_id": "r", "error_message": "boom"}) + "\n")
    env = {"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{_free_port()}/x", "SPOOL_DIR": str(tmp_path / "sp")}
    proc = run_failcat("ingest", str(path), "--json", env_extra=env, timeout=60)
    assert "Traceback" not in proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["spooled"] == 1
    assert "spooled" in proc.stderr and "failcat ingest --replay" in proc.stderr
    replay = run_failcat("ingest", "--replay", env_extra=env, timeout=60)
    assert_one_line_error(replay, contains="database unavailable")


def test_runner_unreachable_server_gives_one_line_error(monkeypatch):
    from core.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", f"postgresql://postgres@127.0.0.1:{_free_port()}/x")
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["validate"])
    assert_one_line_error(result, contains="database unavailable")
