"""Client-supplied text on the page: always shown as text, never read as Markdown or HTML.

Streamlit reads Markdown in titles, captions, alerts, badges, metric labels, radio options, st.table cells and
help texts, with its own extensions on top (autolinked URLs, :material/...: icons, :color[...] and LaTeX), and
backslash escapes do not stop those. Two forms are safe:
- `lit(value)` wraps a value in an inline code span whose fence is longer than any backtick run in it, so
  nothing inside is parsed; use it to name a value inside a sentence of ours;
- `plain_heading` / `plain_text` draw text with st.html after HTML-escaping it (Streamlit sanitises st.html
  too); use them where the text itself is the content.
Everything else that shows client text uses elements that never parse Markdown: st.dataframe, st.code with
language=None, st.json, st.text, and the options of st.selectbox and st.multiselect.
"""
from __future__ import annotations

import html
import re

import pandas as pd
import streamlit as st

from dashboard.visible import visible_text

__all__ = ["lit", "plain_heading", "plain_table", "plain_text", "text_frame", "visible_text"]

MAX_INLINE = 300
_BACKTICKS = re.compile(r"`+")
def text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame for st.dataframe whose text cells show invisible controls as code points (see visible_text)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column].dtype):
            out[column] = [visible_text(v) if isinstance(v, str) else v for v in out[column]]
    return out


def lit(value: object, *, limit: int = MAX_INLINE) -> str:
    """`value` as an inline code span that Markdown shows verbatim (whitespace collapsed, cut at `limit`)."""
    text = " ".join(visible_text(value).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    if not text:
        return "` `"
    fence = "`" * (max((len(m) for m in _BACKTICKS.findall(text)), default=0) + 1)
    pad = " " if text[0] == "`" or text[-1] == "`" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def plain_heading(text: str, *, level: int = 1) -> None:
    """A heading whose text is shown exactly as given."""
    st.html(f'<h{level} class="fc-plain">{html.escape(visible_text(text))}</h{level}>')


def plain_text(text: str, *, muted: bool = False, small: bool = False) -> None:
    """A paragraph of text shown exactly as given (line breaks kept)."""
    style = ["white-space:pre-wrap", "overflow-wrap:anywhere", "margin:0"]
    if muted:
        style.append("color:rgba(49,51,63,0.6)")
    if small:
        style.append("font-size:0.875rem")
    st.html(f'<p style="{";".join(style)}">{html.escape(visible_text(text))}</p>')


def plain_table(frame: pd.DataFrame) -> None:
    """A small table (a few rows) of text shown exactly as given; st.table would read its cells as Markdown."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('' if v is None else visible_text(v))}</td>" for v in row)
                   + "</tr>"
                   for row in frame.itertuples(index=False))
    st.html(f'<table class="fc-table" data-testid="fc-plain-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>"
            "<style>.fc-table{border-collapse:collapse;width:100%;font-size:0.875rem}"
            ".fc-table th,.fc-table td{border-bottom:1px solid #E2E8F0;padding:6px 8px;text-align:left;"
            "vertical-align:top;overflow-wrap:anywhere}.fc-table th{font-weight:600;color:#475569}</style>")
