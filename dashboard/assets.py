"""Files the dashboard serves itself (a page icon of Material Symbols would be fetched from Google)."""
from __future__ import annotations

from core.settings import ROOT

FAVICON = str(ROOT / "assets" / "favicon.png")
