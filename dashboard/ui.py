"""Shared page furniture: headers, empty states, and error guards that show a message, never a traceback."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from core.db import DatabaseUnavailable, describe_db_error
from dashboard.db import database
from dashboard.text import lit

# Streamlit's wide layout keeps 5rem on each side and 6rem above the title: at 1440 px that is 15% of the width
# that tables need for the columns people read first.
_LAYOUT_CSS = """<style>
[data-testid="stMainBlockContainer"] { padding: 2.5rem 2rem 4rem 2rem; }
</style>"""

# st.badge's colour Literal, which Streamlit does not export: tables of colours need it to pass mypy.
BadgeColor = Literal["red", "orange", "yellow", "blue", "green", "violet", "gray", "grey", "primary"]


def apply_layout() -> None:
    """The dashboard's page margins (static CSS of ours; no client text)."""
    st.html(_LAYOUT_CSS)


def page_header(title: str, caption: str | None = None) -> None:
    """Title and one-line description of a page."""
    st.title(title, anchor=False)
    if caption:
        st.caption(caption)


def empty_state(message: str, hint: str | None = None) -> None:
    """A friendly 'nothing here' box."""
    st.info(message + (f"\n\n{hint}" if hint else ""), icon=":material/inbox:")


def db_error(exc: BaseException) -> None:
    """Show a database failure as one line and stop the page."""
    st.error(
        f"The database is not reachable right now, so this page cannot be shown.\n\n"
        f"{lit(describe_db_error(exc, database().url))}",
        icon=":material/cloud_off:",
    )
    st.stop()


def bad_link(message: str) -> None:
    """Show a bad link (unknown id, bad URL value) and stop the page; values in `message` go through lit()."""
    st.warning(message, icon=":material/link_off:")
    st.stop()


@contextmanager
def guarded() -> Iterator[None]:
    """Run page loading code; database errors become a clear message instead of a traceback."""
    try:
        yield
    except (DatabaseUnavailable, SQLAlchemyError) as exc:
        db_error(exc)
    except PermissionError as exc:
        st.error(str(exc), icon=":material/block:")
        st.stop()


def fmt_pct(value: float | None) -> str:
    """0.734 -> '73.4%'; None -> '–'."""
    return "–" if value is None or value != value else f"{value * 100:.1f}%"


def fmt_int(value: int | float | None) -> str:
    """12345 -> '12,345'."""
    return "–" if value is None or value != value else f"{int(value):,}"


def count_delta(cur: float, old: float) -> str | None:
    """A count's change against the previous period, absolute and relative alike: "+1,234 (+12.3%)"; "+5 (new)"
    when the previous period had none; None when neither period has any."""
    if not cur and not old:
        return None
    change = int(cur) - int(old)
    return f"{change:+,} ({change / old:+.1%})" if old else f"{change:+,} (new)"


def points_delta(cur: float | None, old: float | None) -> str | None:
    """A rate's change in percentage points ("+3.1 pp"), or None when either period has no rate."""
    if cur is None or old is None or cur != cur or old != old:
        return None
    return f"{(cur - old) * 100:+.1f} pp"
