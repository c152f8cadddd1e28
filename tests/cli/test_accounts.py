"""failcat users / tokens / flags (CliRunner, both engines): the token alone on stdout, and it works."""
from __future__ import annotations

import json

from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from cli import main
from core.schema import api_tokens, feature_flags, users
from core.security import token_hash


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input)


def test_tokens_create_list_revoke(engine):
    res = run("tokens", "create", "--name", "ci", "--role", "oncall", "--tenant", "t1")
    assert res.exit_code == 0, res.output
    token = res.stdout.strip()
    assert res.stdout == token + "\n" and token.startswith("fct_")  # alone on stdout
    assert "not shown again" in res.stderr
    with engine.connect() as conn:
        row = conn.execute(select(api_tokens)).mappings().one()
    assert row["token_hash"] == token_hash(token) and token not in str(dict(row))
    assert (row["role"], row["tenant_id"]) == ("oncall", "t1")
    with TestClient(create_app(engine=engine)) as c:
        assert c.get("/api/v1/failures", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        listed = json.loads(run("tokens", "list", "--json").stdout)
        assert [(t["name"], t["role"], t["tenant_id"]) for t in listed] == [("ci", "oncall", "t1")]
        assert listed[0]["last_used_at"] is not None and "token_hash" not in listed[0]
        assert "ci" in run("tokens", "list").stdout
        assert run("tokens", "revoke", "--name", "ci").exit_code == 0
        assert c.get("/api/v1/failures", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    res = run("tokens", "revoke", "--name", "ci")
    assert res.exit_code == 1 and res.stderr.startswith("failcat: error:")
    all_t = run("tokens", "create", "--name", "ops", "--role", "admin", "--all-tenants")
    assert all_t.exit_code == 0
    token_id = json.loads(run("tokens", "list", "--json").stdout)[-1]["id"]
    assert run("tokens", "revoke", "--id", str(token_id)).exit_code == 0


def test_tokens_create_refuses_bad_options(engine):
    for args in (["--role", "admin"], ["--role", "admin", "--tenant", "t1", "--all-tenants"],
                 ["--role", "root", "--all-tenants"]):
        res = run("tokens", "create", "--name", "x", *args)
        assert res.exit_code != 0 and res.stdout == ""
    with engine.connect() as conn:
        assert conn.execute(select(api_tokens)).first() is None


def test_users_add_list_disable(engine):
    res = run("users", "add", "alice", "--role", "viewer", "--tenant", "t1", input="correct horse battery\n")
    assert res.exit_code == 0, res.output
    assert "correct horse" not in res.output
    res = run("users", "add", "bob", "--role", "admin", "--all-tenants", input="short\n")
    assert res.exit_code == 1 and "at least 8" in res.stderr
    assert run("users", "add", "alice", "--role", "viewer", "--all-tenants", input="another password\n").exit_code == 1
    listed = json.loads(run("users", "list", "--json").stdout)
    assert [(u["name"], u["role"], u["tenant_id"], u["disabled"]) for u in listed] == [("alice", "viewer", "t1", False)]
    assert run("users", "disable", "alice").exit_code == 0
    assert run("users", "disable", "nobody").exit_code == 1
    with engine.connect() as conn:
        row = conn.execute(select(users)).mappings().one()
    assert row["disabled"] is True and row["password_hash"].startswith("$argon2")
    assert run("users", "enable", "alice").exit_code == 0
    assert run("users", "set-password", "alice", input="a new long password\n").exit_code == 0


def test_flags_list_and_set(engine):
    res = run("flags", "set", "failure_catalog_m9", "off")
    assert res.exit_code == 0 and res.stdout.strip() == "failure_catalog_m9: off"
    with engine.connect() as conn:
        assert conn.execute(select(feature_flags.c.enabled)).scalar() is False
    listed = json.loads(run("flags", "list", "--json").stdout)
    assert ("failure_catalog_m9", False) in [(f["name"], f["enabled"]) for f in listed]
    assert run("flags", "set", "failure_catalog_m9", "on").exit_code == 0
    res = run("flags", "set", "nope", "on")
    assert res.exit_code == 1 and "unknown feature flag" in res.stderr
    assert run("flags", "set", "failure_catalog_m9", "maybe").exit_code == 2
