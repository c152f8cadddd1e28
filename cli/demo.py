"""failcat seed, failcat validate: synthetic failures through the one ingest path."""
from __future__ import annotations

import sys

import click

from cli.common import engine_ready


def register(main: click.Group) -> None:
    """Add the synthetic-data commands to the main group."""
    main.add_command(seed)
    main.add_command(validate)


@click.command()
@click.option("--events", type=click.IntRange(min=1), default=10000, show_default=True,
              help="Number of failure events to generate.")
@click.option("--tenants", type=click.IntRange(min=1, max=1000), default=3, show_default=True)
@click.option("--days", type=click.FloatRange(min=0.01, max=3650), default=7, show_default=True,
              help="Spread events over the last D days.")
@click.option("--seed", "rng_seed", type=int, default=None,
              help="RNG seed: the same seed gives the same events (and the same ids, so re-seeding adds nothing).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
def seed(events: int, tenants: int, days: float, rng_seed: int | None, progress: bool | None) -> None:
    """Generate realistic synthetic failures, ingest them and apply recoveries."""
    from tqdm import tqdm

    from demo.seed import seed_database

    engine = engine_ready()
    show = sys.stderr.isatty() if progress is None else progress
    with tqdm(total=events, unit="ev", desc="seed", disable=not show, file=sys.stderr) as bar:
        report = seed_database(engine, events=events, tenants=tenants, days=days, seed=rng_seed,
                               on_chunk=bar.update)
    ing = report.ingest
    click.echo(
        f"seeded {ing.inserted} failures ({ing.duplicates} already present) for {tenants} tenants over {days:g} days: "
        f"{ing.matched} matched, {ing.unmatched} unmatched; recoveries {report.recoveries_attempted} attempted, "
        f"{report.recoveries_succeeded} succeeded; ingest {report.ingest_seconds:.1f}s "
        f"({report.events_per_second:.0f} events/s), recoveries {report.recovery_seconds:.1f}s"
    )
    if ing.spooled or ing.dropped:
        raise click.ClickException(
            f"database unavailable during seed: {ing.spooled} events spooled, {ing.dropped} dropped"
        )


@click.command()
@click.option("--events", type=click.IntRange(min=10), default=1000, show_default=True)
@click.option("--seed", "rng_seed", type=int, default=None, help="RNG seed for the generated events.")
@click.option("--keep", is_flag=True, help="Keep the validation tenant's rows (deleted after the run otherwise).")
def validate(events: int, rng_seed: int | None, keep: bool) -> None:
    """Ingest known-outcome events under a fresh tenant, compare expected with stored, then delete them (--keep)."""
    from demo.validate import run_validation

    result = run_validation(engine_ready(), events=events, seed=rng_seed, keep=keep)
    click.echo(f"validation tenant: {result.tenant_id}")
    click.echo(result.table())
    if result.removed is None:
        click.echo(f"kept the validation tenant's rows (--keep): {result.tenant_id}")
    else:
        click.echo(f"removed the validation rows: {result.removed.failures} failures, "
                   f"{result.removed.recovery_events} recovery history rows, and their rollups and groups")
    if result.spooled:
        click.echo(f"failcat: warning: the database was unavailable: {result.spooled} validation events were not "
                   "stored", err=True)
    if not result.ok:
        failed = ", ".join(r.check for r in result.rows if not r.ok)
        raise click.ClickException(f"validation failed: stored values differ from expected ({failed})")
    click.echo("validation passed")
