"""The shipped catalog file validates; bad files fail with clear messages; loading upserts on both engines."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml
from sqlalchemy import delete, func, insert, select

from core.schema import catalog_entries
from core.types import utcnow
from core.vocabulary import RECOVERY_MODES, SEVERITY_RANK
from loaders.catalog.file import (
    DEFAULT_CATALOG,
    CatalogError,
    load_catalog_into_db,
    read_catalog_file,
)

CATEGORIES = {
    "TRANSIENT_NETWORK", "RATE_LIMIT", "PERMISSION", "VALIDATION", "LLM", "TOOL", "DATA", "RESOURCE",
    "INFRASTRUCTURE", "SECURITY", "CHECKPOINT", "RUNTIME",
}


@pytest.fixture(scope="module")
def shipped():
    return read_catalog_file()


def raw_entries() -> list[dict]:
    return yaml.safe_load(DEFAULT_CATALOG.read_text(encoding="utf-8"))["entries"]


# ------------------------------------------------------------------ the shipped file


def test_shipped_catalog_shape(shipped):
    version, entries = shipped
    assert version and version != "unversioned"
    assert 50 <= len(entries) <= 100
    assert {e.category for e in entries} == CATEGORIES
    assert {e.recovery_mode for e in entries} == set(RECOVERY_MODES)
    codes = [e.code for e in entries]
    assert len(codes) == len(set(codes))
    assert {"NET_CONNECTION_REFUSED", "NET_TIMEOUT"} <= set(codes)  # other parts depend on these two
    assert all(e.severity in SEVERITY_RANK for e in entries)
    assert {e.severity for e in entries} >= {"critical", "high", "medium", "low"}


def test_shipped_entries_are_complete(shipped):
    for e in shipped[1]:
        assert e.patterns, e.code
        assert e.keywords, e.code
        assert 1 <= len(e.recovery_suggestions) <= 3, e.code
        assert e.message.endswith("."), e.code
        assert e.created_by == "catalog" and e.enabled
        if e.http_status is not None:
            assert 400 <= e.http_status <= 599, e.code


def test_every_category_has_several_entries(shipped):
    per_category = Counter(e.category for e in shipped[1])
    assert min(per_category.values()) >= 2, per_category


def test_patterns_have_no_inline_global_flags(shipped):
    # The matcher compiles with IGNORECASE; "(?i)" in the middle of a combined pattern is an error.
    for e in shipped[1]:
        for p in e.patterns:
            assert not re.search(r"\(\?[aiLmsux]+\)", p), (e.code, p)
            re.compile(p, re.IGNORECASE)


def test_http_status_entries_name_their_status(shipped):
    # An entry that claims an HTTP status should recognise the standard "<status> ... Error" text.
    for e in shipped[1]:
        if e.http_status is not None and e.http_status not in (529,):
            assert any(str(e.http_status) in p for p in e.patterns) or e.code.startswith("LLM_") \
                or e.code in {"AUTH_INVALID_API_KEY", "AUTH_TOKEN_EXPIRED", "RATE_LIMIT_QUOTA_EXCEEDED",
                              "RATE_LIMIT_THROTTLED"}, e.code


@pytest.mark.parametrize(
    ("specific", "generic"),
    [
        ("NET_READ_TIMEOUT", "NET_TIMEOUT"),
        ("NET_CONNECT_TIMEOUT", "NET_TIMEOUT"),
        ("TOOL_TIMEOUT", "NET_TIMEOUT"),
        ("RES_POOL_EXHAUSTED", "NET_TIMEOUT"),
        ("RATE_LIMIT_QUOTA_EXCEEDED", "RATE_LIMIT_HTTP_429"),
        ("RATE_LIMIT_HTTP_429", "INFRA_HTTP_5XX"),
        ("RATE_LIMIT_HTTP_429", "NET_CONNECTION_ERROR"),
        ("INFRA_DB_NOT_FOUND", "INFRA_DB_UNAVAILABLE"),
        ("AUTH_DB_LOGIN_FAILED", "INFRA_DB_UNAVAILABLE"),
        ("INFRA_DB_UNAVAILABLE", "NET_CONNECTION_REFUSED"),
        ("INFRA_SERVICE_UNAVAILABLE", "INFRA_HTTP_5XX"),
        ("LLM_CONTEXT_LENGTH_EXCEEDED", "VAL_BAD_REQUEST"),
        ("AUTH_INVALID_API_KEY", "VAL_BAD_REQUEST"),
        ("PERM_DB_PRIVILEGE", "PERM_FILE_ACCESS"),
        ("NET_DNS_RESOLUTION", "NET_CONNECTION_ERROR"),
        ("NET_CONNECTION_REFUSED", "NET_CONNECTION_ERROR"),
        ("LLM_INVALID_RESPONSE", "DATA_JSON_DECODE"),
    ],
)
def test_specific_entries_come_before_generic_ones(shipped, specific, generic):
    order = [e.code for e in shipped[1]]
    assert order.index(specific) < order.index(generic)


# ------------------------------------------------------------------ bad files


def write(tmp_path: Path, doc) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc), encoding="utf-8")
    return path


def good(code: str = "GOOD_ONE", **overrides) -> dict:
    return {"code": code, "category": "TOOL", "severity": "low", "message": "Good.", "recovery_mode": "SKIP",
            "patterns": ["good"], **overrides}


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([good(), good("BAD", category="")], r"entry 2 \(BAD\): missing category"),
        ([good("BAD", message=None)], r"entry 1 \(BAD\): missing message"),
        ([good("BAD", severity="urgent")], r"entry 1 \(BAD\): severity 'urgent' not one of critical"),
        ([good("BAD", recovery_mode="PRAY")], r"entry 1 \(BAD\): recovery_mode 'PRAY' not one of RETRY_IMMEDIATE"),
        ([good("BAD", patterns=["(unclosed"])], r"entry 1 \(BAD\): bad pattern '\(unclosed'"),
        ([good(), good("lower_case")], r"entry 2: code 'lower_case' must be UPPER_SNAKE_CASE"),
        ([good(), {"category": "TOOL"}], r"entry 2: code '' must be UPPER_SNAKE_CASE"),
        ([good(), "just a string"], r"entry 2: expected a mapping"),
        ([good("SAME"), good("SAME")], r"duplicate code SAME"),
    ],
)
def test_bad_entries_name_the_entry_and_field(tmp_path, entries, expected):
    path = write(tmp_path, {"version": "x", "entries": entries})
    with pytest.raises(CatalogError, match=expected):
        read_catalog_file(path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("entries: [unclosed", "is not valid YAML"),
        ("- just\n- a list\n", "expected a mapping with an 'entries' list"),
        ("version: 1\nentries: nope\n", "expected a mapping with an 'entries' list"),
    ],
)
def test_bad_files(tmp_path, content, expected):
    with pytest.raises(CatalogError, match=re.escape(expected)):
        read_catalog_file(write(tmp_path, content))


def test_missing_file(tmp_path):
    with pytest.raises(CatalogError, match="catalog file not found"):
        read_catalog_file(tmp_path / "nope.yaml")


# ------------------------------------------------------------------ loading into the database (both engines)


def _db_codes(conn) -> dict[str, object]:
    return {r.code: r for r in conn.execute(select(catalog_entries))}


def test_reload_of_shipped_file_changes_nothing(engine, shipped):
    counts = load_catalog_into_db(engine)
    assert counts == {"inserted": 0, "updated": 0, "unchanged": len(shipped[1])}
    with engine.connect() as conn:
        rows = _db_codes(conn)
    for e in shipped[1]:
        row = rows[e.code]
        assert (row.category, row.severity, row.recovery_mode) == (e.category, e.severity, e.recovery_mode)
        assert row.patterns == list(e.patterns) and row.keywords == list(e.keywords)
        assert row.http_status == e.http_status and row.created_by == "catalog"


def test_load_upserts_and_keeps_promoted_entries(engine, tmp_path):
    entries = raw_entries()
    with engine.begin() as conn:
        conn.execute(insert(catalog_entries).values(
            code="PROMOTED_WIDGET", category="TOOL", severity="low", message="Promoted by an analyst.",
            patterns=["widget exploded"], keywords=[], is_retryable=False, recovery_mode="SKIP",
            recovery_suggestions=[], created_by="ada", created_at=utcnow(), enabled=True))
        before = conn.execute(select(func.count()).select_from(catalog_entries)).scalar()
    changed = [dict(e) for e in entries]
    changed[0]["message"] = "Changed message."
    changed.append(good("ZZ_NEW_FROM_FILE"))
    path = write(tmp_path, {"version": "test", "entries": changed})
    try:
        counts = load_catalog_into_db(engine, path)
        assert counts == {"inserted": 1, "updated": 1, "unchanged": len(entries) - 1}
        with engine.connect() as conn:
            rows = _db_codes(conn)
            total = conn.execute(select(func.count()).select_from(catalog_entries)).scalar()
        assert rows[changed[0]["code"]].message == "Changed message."
        assert rows["ZZ_NEW_FROM_FILE"].created_by == "catalog"
        assert rows["PROMOTED_WIDGET"].created_by == "ada" and rows["PROMOTED_WIDGET"].patterns == ["widget exploded"]
        assert total == before + 1
        # Loading the shipped file again restores the message and still keeps the promoted entry.
        counts = load_catalog_into_db(engine)
        assert counts["updated"] == 1 and counts["inserted"] == 0
        with engine.connect() as conn:
            rows = _db_codes(conn)
        assert rows[changed[0]["code"]].message == entries[0]["message"]
        assert "PROMOTED_WIDGET" in rows
    finally:
        with engine.begin() as conn:  # entries created_by "catalog" are not removed by the fixture's reset
            conn.execute(delete(catalog_entries).where(catalog_entries.c.code == "ZZ_NEW_FROM_FILE"))


def test_bad_file_leaves_database_untouched(engine, tmp_path):
    with engine.connect() as conn:
        before = {c: (r.message, r.patterns) for c, r in _db_codes(conn).items()}
    entries = [dict(e) for e in raw_entries()]
    entries[0]["message"] = "Should not be stored."
    entries[-1]["recovery_mode"] = "PRAY"
    with pytest.raises(CatalogError, match="PRAY"):
        load_catalog_into_db(engine, write(tmp_path, {"entries": entries}))
    with engine.connect() as conn:
        assert {c: (r.message, r.patterns) for c, r in _db_codes(conn).items()} == before
