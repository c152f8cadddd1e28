"""`python -m dashboard.serve run app.py ...`: Streamlit's own command line, in a process that has already imported
what the dashboard's pages import.

Streamlit imports a page's modules on the page's first run in the server process, so the first person to open a
page after the server started waited for pandas, Altair and the chart modules (about half a second on a 2-core
machine). Importing them before the server starts moves that wait to start-up, where nobody is looking.
"""
from __future__ import annotations

import ast
import importlib
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE_LOGGER = "streamlit.runtime.caching.cache_data_api"

log = logging.getLogger(__name__)


def page_modules(root: Path = ROOT) -> list[str]:
    """The modules app.py and the page scripts import at their top level, in the order first met."""
    found: dict[str, None] = {}
    scripts = [root / "app.py", *sorted((root / "pages").glob("*.py"))]
    for script in scripts:
        for node in ast.parse(script.read_text(encoding="utf-8"), filename=str(script)).body:
            if isinstance(node, ast.Import):
                found.update(dict.fromkeys(alias.name for alias in node.names))
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module != "__future__":
                found[node.module] = None
    return list(found)


def preload(root: Path = ROOT) -> list[str]:
    """Import every page module; returns those that failed (a page's own run then shows its error as it would)."""
    failed = []
    # Before the server starts, each st.cache_data decorator notes that no runtime exists yet. That is expected
    # here: a cache takes the runtime's storage when first called, in a page run.
    importlib.import_module(CACHE_LOGGER)  # Streamlit sets its loggers' levels when their module is imported
    quiet = logging.getLogger(CACHE_LOGGER)
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        for name in page_modules(root):
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the page's run reports it with the page around it
                log.warning("dashboard.serve: could not preload %s", name, exc_info=True)
                failed.append(name)
    finally:
        quiet.setLevel(level)
    return failed


def main() -> None:
    """Preload the pages' modules, then hand the command line to Streamlit."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    preload()
    from streamlit.web.cli import main as streamlit_main

    streamlit_main(prog_name="streamlit")


if __name__ == "__main__":
    main()
