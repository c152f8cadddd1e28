"""failcat retention."""
from __future__ import annotations

import click

from cli.common import engine_ready


def register(main: click.Group) -> None:
    """Add the retention command to the main group."""
    main.add_command(retention)


@click.command()
@click.option("--days", type=click.IntRange(min=1), default=None, help="Keep this many days (default RETENTION_DAYS).")
@click.option("--batch-size", type=click.IntRange(min=100, max=100_000), default=5000, show_default=True)
def retention(days: int | None, batch_size: int) -> None:
    """Delete failures, recovery history and rollups older than the retention period, in batches.

    On PostgreSQL whole weeks of failures older than the cutoff are dropped as partitions (only the week that
    straddles the cutoff is deleted in batches) and the next weeks' partitions are created; see also
    `failcat partitions`.
    """
    from core.settings import get_settings
    from loaders.retention import apply_retention

    days = days or get_settings().retention_days
    report = apply_retention(engine_ready(), days=days, batch_size=batch_size)
    click.echo(
        f"cutoff={report.cutoff.isoformat()} failures={report.failures} recovery_events={report.recovery_events} "
        f"rollups={report.rollups} exports={report.exports} groups={report.groups}"
    )
