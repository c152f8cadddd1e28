"""Failure detail page (placeholder until its owner replaces it)."""
from __future__ import annotations

from dashboard.session import require
from dashboard.ui import empty_state, page_header

principal = require("read")
page_header("Failure detail")
empty_state("This page is being built.")
