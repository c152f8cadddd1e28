"""Helpers shared by the failcat commands: the engine, tenant options and output."""
from __future__ import annotations

import sys

import click
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from core.db import get_engine


def engine_ready(*, need_schema: bool = True) -> Engine:
    """The configured engine, checked reachable (and migrated when need_schema)."""
    engine = get_engine()
    with engine.connect() as conn:
        if need_schema and not inspect(conn).has_table("failure_matches"):
            raise click.ClickException("the database has no schema yet: run `failcat migrate` first")
    return engine


def tenant_scope_option(tenant_id: str | None, all_tenants: bool) -> str | None:
    """Resolve --tenant/--all-tenants into a tenant id or None (all); exactly one is required."""
    if bool(tenant_id) == bool(all_tenants):
        raise click.UsageError("give exactly one of --tenant T or --all-tenants")
    return tenant_id or None


def read_secret(prompt: str) -> str:
    """Prompt for a secret on a terminal, or read one line from standard input otherwise."""
    stdin = sys.stdin
    if stdin.isatty():
        return click.prompt(prompt, hide_input=True, confirmation_prompt=True)
    line = stdin.readline().rstrip("\n")
    if not line:
        raise click.ClickException("no password on standard input")
    return line
