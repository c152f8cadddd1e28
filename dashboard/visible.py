"""Invisible characters written out, so client text shows what it holds (pure; charts and tables use it)."""
from __future__ import annotations

import re

# Characters that change how the text around them looks without being seen themselves: C0/C1 controls (a
# terminal's colour codes, bells) and the bidirectional overrides and isolates (U+202E shows what follows
# reversed, a spoofing trick). They are shown as their code point, e.g. \u202e.
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _code_point(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def visible_text(value: object) -> str:
    """The text with every invisible control or direction override written out as its code point."""
    return _INVISIBLE.sub(_code_point, str(value))
