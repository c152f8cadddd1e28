"""Text cells made safe for spreadsheets: a cell a spreadsheet would read as a formula is prefixed with '.

OWASP's CSV injection advice: a cell starting with =, +, -, @, a tab or a carriage return is run as a formula
by Excel, LibreOffice and Google Sheets (=HYPERLINK(...) sends data away), so such text cells get a leading
single quote, which spreadsheets show as text. Numbers, dates and booleans are left as they are.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(value: Any) -> Any:
    """The value, with a leading ' when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def formula_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of the frame whose text cells are formula_safe (other columns untouched)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(formula_safe)
    return out
