"""failcat partitions: list and create the weekly partitions of failure_matches (PostgreSQL)."""
from __future__ import annotations

import click

from cli.common import engine_ready


def register(main: click.Group) -> None:
    """Add the partitions command group to the main group."""
    main.add_command(partitions)


@click.group()
def partitions() -> None:
    """Weekly partitions of failure_matches on PostgreSQL (SQLite keeps one plain table)."""


@partitions.command("list")
def list_cmd() -> None:
    """Print one line per partition: name, start, end, estimated rows, size in bytes."""
    from queries.failures.partitions import is_partitioned, list_partitions

    engine = engine_ready()
    with engine.connect() as conn:
        if not is_partitioned(conn):
            raise click.ClickException("failure_matches is not partitioned (SQLite, or PostgreSQL before 0004)")
        for p in list_partitions(conn):
            click.echo(f"{p.qualified}\t{p.start.isoformat()}\t{p.end.isoformat()}\t{p.estimated_rows}\t{p.bytes}")


@partitions.command("ensure")
@click.option("--weeks-ahead", type=click.IntRange(min=0, max=52), default=4, show_default=True,
              help="Create the partitions of this week and of this many next weeks.")
def ensure_cmd(weeks_ahead: int) -> None:
    """Create missing partitions ahead of time (run daily from cron; `failcat retention` does it too)."""
    from queries.failures.partitions import ensure_ahead, is_partitioned

    engine = engine_ready()
    with engine.connect() as conn:
        if not is_partitioned(conn):
            raise click.ClickException("failure_matches is not partitioned (SQLite, or PostgreSQL before 0004)")
    created = ensure_ahead(engine, weeks=weeks_ahead)
    for name in created:
        click.echo(name)
    click.echo(f"created {len(created)} partition(s)", err=True)
