"""failcat users, tokens and flags: accounts, API tokens and feature flags."""
from __future__ import annotations

import click
import pandas as pd

from cli.common import engine_ready, read_secret, tenant_scope_option
from core.security import ROLES


def register(main: click.Group) -> None:
    """Add the admin command groups to the main group."""
    main.add_command(users)
    main.add_command(tokens)
    main.add_command(flags)


def _print_frame(frame: pd.DataFrame, as_json: bool) -> None:
    if as_json:
        click.echo(frame.to_json(orient="records", date_format="iso"))
    elif frame.empty:
        click.echo("(none)", err=True)
    else:
        click.echo(frame.astype(object).where(frame.notna(), "-").to_string(index=False))


tenant_opt = click.option("--tenant", "tenant_id", default=None, help="Limit to one tenant.")
all_tenants_opt = click.option("--all-tenants", is_flag=True, help="Not limited to one tenant.")
role_opt = click.option("--role", required=True, type=click.Choice(ROLES), help="viewer, oncall or admin.")
json_opt = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.group()
def users() -> None:
    """Local accounts for the dashboard."""


@users.command("add")
@click.argument("name")
@role_opt
@tenant_opt
@all_tenants_opt
def users_add(name: str, role: str, tenant_id: str | None, all_tenants: bool) -> None:
    """Add a user; the password is prompted (or read from standard input when it is not a terminal)."""
    from queries.accounts import create_user

    scope = tenant_scope_option(tenant_id, all_tenants)
    engine = engine_ready()
    password = read_secret(f"Password for {name}")
    with engine.begin() as conn:
        user_id = create_user(conn, name=name, password=password, role=role, tenant_id=scope)
    click.echo(f"user {name} added (id {user_id}, role {role}, tenant {scope or 'all'})", err=True)


@users.command("list")
@json_opt
def users_list(as_json: bool) -> None:
    """List users (never their password hashes)."""
    from queries.accounts import list_users

    with engine_ready().connect() as conn:
        _print_frame(list_users(conn), as_json)


@users.command("disable")
@click.argument("name")
def users_disable(name: str) -> None:
    """Disable a user (they can no longer sign in)."""
    from queries.accounts import set_user_disabled

    with engine_ready().begin() as conn:
        set_user_disabled(conn, name=name, disabled=True)
    click.echo(f"user {name} disabled", err=True)


@users.command("enable")
@click.argument("name")
def users_enable(name: str) -> None:
    """Re-enable a disabled user."""
    from queries.accounts import set_user_disabled

    with engine_ready().begin() as conn:
        set_user_disabled(conn, name=name, disabled=False)
    click.echo(f"user {name} enabled", err=True)


@users.command("set-password")
@click.argument("name")
def users_set_password(name: str) -> None:
    """Replace a user's password (prompted, or read from standard input)."""
    from queries.accounts import set_password

    engine = engine_ready()
    password = read_secret(f"New password for {name}")
    with engine.begin() as conn:
        set_password(conn, name=name, password=password)
    click.echo(f"password of {name} changed", err=True)


@click.group()
def tokens() -> None:
    """API tokens (only their hash is stored)."""


@tokens.command("create")
@click.option("--name", required=True, help="A name to recognise the token by.")
@role_opt
@tenant_opt
@all_tenants_opt
def tokens_create(name: str, role: str, tenant_id: str | None, all_tenants: bool) -> None:
    """Create a token and print it, alone, on standard output (it is shown only this once)."""
    from queries.accounts import create_token

    scope = tenant_scope_option(tenant_id, all_tenants)
    with engine_ready().begin() as conn:
        token_id, token = create_token(conn, name=name, role=role, tenant_id=scope)
    click.echo(token)
    click.echo(f"token {name} created (id {token_id}, role {role}, tenant {scope or 'all'}); "
               "it is not shown again", err=True)


@tokens.command("list")
@json_opt
def tokens_list(as_json: bool) -> None:
    """List tokens (without secrets)."""
    from queries.accounts import list_tokens

    with engine_ready().connect() as conn:
        _print_frame(list_tokens(conn), as_json)


@tokens.command("revoke")
@click.option("--id", "token_id", type=int, default=None, help="Token id (from `tokens list`).")
@click.option("--name", default=None, help="Revoke every active token with this name.")
def tokens_revoke(token_id: int | None, name: str | None) -> None:
    """Revoke a token by id or name."""
    from queries.accounts import revoke_token

    if (token_id is None) == (name is None):
        raise click.UsageError("give exactly one of --id or --name")
    with engine_ready().begin() as conn:
        n = revoke_token(conn, token_id=token_id, name=name)
    click.echo(f"{n} token(s) revoked", err=True)


@click.group()
def flags() -> None:
    """Feature flags (failure_catalog_m9 is the immediate rollback switch)."""


@flags.command("list")
@json_opt
def flags_list(as_json: bool) -> None:
    """List feature flags."""
    from queries.flags import get_flags

    with engine_ready().connect() as conn:
        _print_frame(get_flags(conn), as_json)


@flags.command("set")
@click.argument("name")
@click.argument("state", type=click.Choice(["on", "off"]))
@click.option("--by", "updated_by", default="cli", show_default=True, help="Who flips it (recorded).")
def flags_set(name: str, state: str, updated_by: str) -> None:
    """Turn a feature flag on or off."""
    from queries.flags import set_flag

    with engine_ready().begin() as conn:
        row = set_flag(conn, name=name, enabled=state == "on", updated_by=updated_by)
    click.echo(f"{row['name']}: {'on' if row['enabled'] else 'off'}")
