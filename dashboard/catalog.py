"""Catalog glue: cached loaders for entries with hits and candidate patterns, and the promotion write."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy.exc import IntegrityError

from core.security import Principal
from core.vocabulary import RECOVERY_MODES, SEVERITIES
from dashboard.cache import cached_loader, clear_caches
from dashboard.db import Database, database
from dashboard.text import lit
from loaders.catalog.candidates import PAGE_SAMPLE_ROWS, get_candidate_patterns
from loaders.catalog.promotion import (
    PromotionError,
    PromotionResult,
    build_entry,
    examples_covered,
    promote_entry,
    suggest_code,
    template_to_regex,
)
from loaders.catalog.usage import get_catalog_usage

# For the Catalog page's promotion form, which imports only the glue.
__all__ = ["RECOVERY_MODES", "SEVERITIES", "suggest_code", "template_to_regex"]


@cached_loader()
def load_catalog_usage(db: Database, tenant_id: str | None, start: datetime, end: datetime) -> tuple[pd.DataFrame, int]:
    """Catalog entries with hit counts in the window, and matched failures under a runtime's own code."""
    with db.connect() as conn:
        return get_catalog_usage(conn, tenant_id=tenant_id, start=start, end=end)


@cached_loader()
def load_candidates(db: Database, tenant_id: str | None, start: datetime, end: datetime, min_occurrences: int
                    ) -> pd.DataFrame:
    """Candidate patterns (unmatched signatures) in the window."""
    with db.connect() as conn:
        return get_candidate_patterns(conn, tenant_id=tenant_id, start=start, end=end,
                                      min_occurrences=min_occurrences, limit=200, sample_rows=PAGE_SAMPLE_ROWS)


@dataclass(frozen=True)
class PromoteOutcome:
    """Result of the promotion form: ok with the result, or the reason nothing was added."""

    ok: bool
    message: str
    result: PromotionResult | None = None


def promote(principal: Principal, form: dict[str, Any], *, examples: list[str] | None = None) -> PromoteOutcome:
    """Validate the form, add the entry and re-match past unmatched failures in one transaction.

    With `examples` (the candidate's messages) an entry that matches none of them is refused.
    """
    refusal = principal.refusal("catalog")
    if refusal is not None:
        return PromoteOutcome(False, refusal[0].upper() + refusal[1:] + ".")
    try:
        entry = build_entry(form, created_by=principal.name)
        if examples and examples_covered(entry, examples) == 0:
            raise PromotionError("the pattern and keywords match none of the candidate's example messages")
        with database().begin() as conn:
            result = promote_entry(conn, entry=entry, created_by=principal.name)
    except PromotionError as exc:
        return PromoteOutcome(False, f"Not added: {lit(exc)}.")
    except IntegrityError:
        return PromoteOutcome(False, f"Not added: code {lit(form.get('code'))} was added by someone else just now.")
    clear_caches()  # hit counts, candidates, rollup-based pages and the queue all changed
    n = result.rematched
    return PromoteOutcome(True, (
        f"Added {lit(result.code)} to the catalog. It re-matched {n:,} past unmatched "
        f"failure{'s' if n != 1 else ''}. The API matches new failures with it within a minute."
    ), result)
