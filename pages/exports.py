"""Exports page (placeholder until its owner replaces it)."""
from __future__ import annotations

from dashboard.session import require
from dashboard.ui import empty_state, page_header

principal = require("export")
page_header("Exports")
empty_state("This page is being built.")
