"""The failure filter panel (Explore, and any page that selects failures): every value lives in the URL."""
from __future__ import annotations

import re

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from core.db import DatabaseUnavailable
from core.security import Principal
from core.vocabulary import RECOVERY_MODES, SEVERITIES, STATUSES
from dashboard.explore import load_options
from dashboard.ui import db_error
from dashboard.widgets import TimeRange, seed_state, set_url, tenant_picker, time_range, url_list, url_value
from queries.failures.filters import FailureFilter, FilterError

MATCHED = {"any": None, "matched": True, "unmatched": False}
STATUS_LABELS = {"all": "Any status", "open": "Open (not recovered)", "unrecovered": "Never attempted",
                 "failed": "Recovery failed", "recovered": "Recovered"}
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_.:/-]{1,128}$")  # what Explore takes as a code in its URL


def _choice(name: str, allowed: list[str], default: str) -> str:
    def parse(raw: str) -> str:
        if raw not in allowed:
            raise ValueError(f"use one of {', '.join(allowed)}")
        return raw
    return url_value(name, default, parse)


def _text(name: str, max_len: int = 200) -> str:
    def parse(raw: str) -> str:
        if len(raw) > max_len:
            raise ValueError(f"longer than {max_len} characters")
        return raw
    return url_value(name, "", parse)


def failure_filters(principal: Principal, *, key: str = "f") -> tuple[FailureFilter, TimeRange]:
    """Draw the filter panel (seeded from the URL, written back to it) and return the scoped filter."""
    with st.container(border=True):
        c1, c2, c3, c4 = st.columns(4)
        tenant = tenant_picker(principal, key=f"{key}_tenant", container=c1)
        rng = time_range(key=f"{key}_range", container=c2)
        try:
            opts = load_options(tenant)
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            db_error(exc)
            raise
        url_codes = [c for c in url_list("code") if CODE_PATTERN.match(c)]
        seed_state(f"{key}_code", url_codes)
        codes = c3.multiselect("Error codes", sorted(set(opts["error_codes"]) | set(url_codes)), key=f"{key}_code",
                               placeholder="Any code", accept_new_options=True)
        url_cats = url_list("category")
        seed_state(f"{key}_category", url_cats)
        categories = c4.multiselect("Category", sorted(set(opts["categories"]) | set(url_cats)),
                                    key=f"{key}_category", placeholder="Any category")

        c5, c6, c7, c8 = st.columns(4)
        seed_state(f"{key}_severity", url_list("severity", list(SEVERITIES)))
        severities = c5.multiselect("Severity", list(SEVERITIES), key=f"{key}_severity", placeholder="Any")
        seed_state(f"{key}_matched", _choice("matched", list(MATCHED), "any"))
        matched = c6.selectbox("Catalog match", list(MATCHED), key=f"{key}_matched",
                               format_func=lambda v: {"any": "Matched or not"}.get(v, v.capitalize()))
        seed_state(f"{key}_status", _choice("status", list(STATUSES), "all"))
        status: str = c7.selectbox("Recovery status", list(STATUSES), key=f"{key}_status",
                                   format_func=lambda s: STATUS_LABELS[s]) or "all"
        all_modes = sorted(set(RECOVERY_MODES) | set(opts["recovery_modes"]))
        seed_state(f"{key}_mode", url_list("mode", all_modes))
        modes = c8.multiselect("Recovery mode", all_modes, key=f"{key}_mode", placeholder="Any mode")

        c9, c10, c11, c12 = st.columns(4)
        seed_state(f"{key}_skill", _text("skill", 128))
        skill = c9.text_input("Skill", key=f"{key}_skill", placeholder="e.g. web.fetch").strip()
        seed_state(f"{key}_run", _text("run", 128))
        run = c10.text_input("Run id", key=f"{key}_run").strip()
        seed_state(f"{key}_sig", _text("sig", 64))
        sig = c11.text_input("Signature", key=f"{key}_sig", help="Message fingerprint (groups similar messages)")
        seed_state(f"{key}_q", _text("q"))
        text = c12.text_input("Message contains", key=f"{key}_q", placeholder="text in message or code").strip()

    set_url(code=codes, category=categories, severity=severities, matched=None if matched == "any" else matched,
            status=None if status == "all" else status, mode=modes, skill=skill, run=run, sig=sig.strip(), q=text)
    try:
        filt = FailureFilter(
            tenant_id=tenant, run_id=run or None, error_codes=tuple(codes), categories=tuple(categories),
            severities=tuple(severities), recovery_modes=tuple(modes), matched=MATCHED[matched], status=status,
            skill_id=skill or None, signature=sig.strip() or None, q=text or None, start=rng.start, end=rng.end,
        )
    except FilterError as exc:
        st.error(f"Filter not valid: {exc}", icon=":material/filter_alt_off:")
        st.stop()
    return filt.scoped(principal.tenant_id), rng
