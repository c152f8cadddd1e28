"""failcat dashboard: run the Streamlit dashboard (streamlit run app.py)."""
from __future__ import annotations

import os
import sys
from collections.abc import Mapping

import click

from core.settings import ROOT, get_settings


def register(main: click.Group) -> None:
    """Add `failcat dashboard` to the main group."""
    main.add_command(dashboard)


def streamlit_command(host: str, port: int) -> list[str]:
    """The command line that serves app.py on host:port (headless, no usage statistics): Streamlit's own, run by
    dashboard.serve, which imports what the pages import before the server starts."""
    return [
        sys.executable, "-m", "dashboard.serve", "run", str(ROOT / "app.py"),
        "--server.address", host, "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
    ]


def streamlit_environment(base: Mapping[str, str]) -> dict[str, str]:
    """The dashboard server's environment: X-Forwarded-For is believed from TRUSTED_PROXIES only
    (Streamlit's uvicorn would otherwise believe any process on this host)."""
    return {**base, "FORWARDED_ALLOW_IPS": get_settings().trusted_proxies.strip()}


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind (0.0.0.0 for all).")
@click.option("--port", default=8501, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
def dashboard(host: str, port: int) -> None:
    """Serve the Streamlit dashboard (sign in with an account from `failcat users add`)."""
    if not (ROOT / "app.py").is_file():
        raise click.ClickException(f"app.py not found in {ROOT}")
    click.echo(f"failcat: serving the dashboard on http://{host}:{port}", err=True)
    # Streamlit reads .streamlit/config.toml from the working directory.
    os.chdir(ROOT)
    os.execve(sys.executable, streamlit_command(host, port), streamlit_environment(os.environ))
