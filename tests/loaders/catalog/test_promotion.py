"""Promotion: a new catalog entry re-matches past unmatched failures, and rollups stay consistent."""
from __future__ import annotations

import re
from collections import Counter

import pytest
from sqlalchemy import func, select

from core.schema import catalog_entries
from core.schema import failure_matches as fm
from core.schema import failure_rollups as fr
from loaders.catalog.promotion import PromotionError, build_entry, promote_entry, template_to_regex
from loaders.catalog.signature import normalise_message, signature_of
from loaders.ingest.pipeline import IngestPipeline
from tests.support.ops_seed import FROB, seed

FORM = {
    "code": "WIDGET_FROBNICATOR", "category": "TOOL_ERROR", "severity": "high",
    "message": "The frobnicator widget exploded.", "recovery_mode": "RETRY_EXPONENTIAL",
    "recovery_suggestions": ["Restart the widget"], "is_retryable": True,
}


def _rollup_state(conn):
    """(sum of failures, {(tenant, code, matched): failures}) from the rollups."""
    rows = conn.execute(
        select(fr.c.tenant_id, fr.c.error_code, fr.c.matched, func.sum(fr.c.failures))
        .group_by(fr.c.tenant_id, fr.c.error_code, fr.c.matched)
    ).all()
    return {(t, c, bool(m)): int(n) for t, c, m, n in rows if n}


def _raw_state(conn):
    rows = conn.execute(select(fm.c.tenant_id, fm.c.error_code, fm.c.catalog_entry_id)).all()
    return dict(Counter((t, c, e is not None) for t, c, e in rows))


@pytest.mark.parametrize("batch_size", [2, 500])
def test_promotion_rematches_unmatched_and_moves_rollups(engine, batch_size):
    seed(engine)
    regex = template_to_regex(normalise_message(FROB.format(n=1, s=2)))
    with engine.connect() as conn:
        before_unmatched = conn.execute(
            select(fm.c.id, fm.c.version, fm.c.tenant_id).where(fm.c.error_message.like("frobnicator%"))
        ).all()
        total = conn.execute(select(func.count()).select_from(fm)).scalar()
    assert len(before_unmatched) == 7
    with engine.begin() as conn:
        result = promote_entry(conn, entry={**FORM, "patterns": [regex]}, created_by="ada", batch_size=batch_size)
    assert result.rematched == 7 and result.by_tenant == {"t1": 4, "t2": 3}
    assert result.rematched_for("t2") == 3 and result.rematched_for(None) == 7
    with engine.connect() as conn:
        entry = conn.execute(select(catalog_entries).where(catalog_entries.c.code == "WIDGET_FROBNICATOR")).one()
        assert entry.created_by == "ada" and entry.patterns == [regex]
        rows = conn.execute(select(fm).where(fm.c.error_message.like("frobnicator%"))).mappings().all()
        versions = {r.id: r.version for r in before_unmatched}
        for r in rows:
            assert r["catalog_entry_id"] == entry.id and r["match_type"] == "pattern"
            assert r["error_code"] == "WIDGET_FROBNICATOR" and r["category"] == "TOOL_ERROR"
            assert r["severity"] == "high" and r["severity_rank"] == 1 and r["is_retryable"] is True
            assert r["recovery_mode"] == "RETRY_EXPONENTIAL" and r["recovery_suggestion"] == "Restart the widget"
            assert r["version"] == versions[r["id"]] + 1
            # Why it matched now, and a signature that carries its new code.
            assert r["match_reason"].startswith("pattern ") and "WIDGET_FROBNICATOR was added" in r["match_reason"]
            assert r["signature"] == signature_of(r["error_message"], "WIDGET_FROBNICATOR")
        # Other unmatched failures are untouched, and the rollups equal the raw rows key for key.
        assert conn.execute(select(func.count()).where(fm.c.error_code == "ZEBRA_NEW",
                                                       fm.c.catalog_entry_id.is_(None))).scalar() == 1
        assert conn.execute(select(func.sum(fr.c.failures))).scalar() == total
        assert _rollup_state(conn) == _raw_state(conn)
        # Recovery counts moved with the rows too.
        assert conn.execute(select(func.sum(fr.c.recovery_attempts))).scalar() == conn.execute(
            select(func.count()).where(fm.c.recovery_attempted.is_(True))).scalar()


def test_keyword_and_code_matches_and_unknown_code_kept(engine):
    seed(engine)
    with engine.begin() as conn:
        result = promote_entry(conn, entry={**FORM, "code": "ZEBRA_NEW", "keywords": ["gizmo"]}, created_by="ada")
        r = conn.execute(select(fm).where(fm.c.error_code == "ZEBRA_NEW")).mappings().one()
        assert r["match_type"] == "code" and r["confidence"] == 1.0
        result2 = promote_entry(conn, entry={**FORM, "code": "T2_GIZMO", "keywords": ["secret", "happened"]},
                                created_by="ada")
        r2 = conn.execute(select(fm).where(fm.c.error_message.like("secret%"))).mappings().one()
        # The runtime's own code is kept; only UNKNOWN is replaced by the entry's code.
        assert r2["error_code"] == "T2_SECRET_CODE" and r2["match_type"] == "keyword"
        assert _rollup_state(conn) == _raw_state(conn)
    assert result.rematched == 1 and result2.rematched == 1


def test_promotion_is_all_or_nothing(engine):
    seed(engine)
    with pytest.raises(RuntimeError):
        with engine.begin() as conn:
            promote_entry(conn, entry={**FORM, "patterns": ["frobnicator"]}, created_by="ada")
            raise RuntimeError("boom after the re-match")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).where(fm.c.catalog_entry_id.is_not(None),
                                                       fm.c.error_message.like("frob%"))).scalar() == 0
        assert conn.execute(select(catalog_entries.c.id).where(catalog_entries.c.code == "WIDGET_FROBNICATOR")
                            ).first() is None
        assert _rollup_state(conn) == _raw_state(conn)


def test_new_ingest_uses_promoted_entry(engine):
    seed(engine)
    with engine.begin() as conn:
        promote_entry(conn, entry={**FORM, "patterns": ["frobnicator widget exploded"]}, created_by="ada")
    report = IngestPipeline(engine).ingest([{"tenant_id": "t1", "run_id": "z", "error_message": FROB.format(n=9, s=9)}])
    assert report.matched == 1


@pytest.mark.parametrize("form, message", [
    ({"code": "bad code"}, "UPPER_SNAKE_CASE"),
    ({"code": "UNKNOWN"}, "reserved"),
    ({"patterns": ["(unclosed"]}, "not a valid regular expression"),
    ({"patterns": [".*"]}, "empty message"),
    ({"patterns": [], "keywords": []}, "at least one pattern or keyword"),
    ({"severity": "huge"}, "severity"),
    ({"recovery_mode": "PRAY"}, "recovery_mode"),
])
def test_build_entry_refuses_clearly(form, message):
    with pytest.raises(PromotionError, match=re.escape(message)):
        build_entry({**FORM, "patterns": ["x+y"], **form}, created_by="ada")


def test_duplicate_code_refused(engine):
    with engine.begin() as conn, pytest.raises(PromotionError, match="already in the catalog"):
        promote_entry(conn, entry={**FORM, "code": "NET_TIMEOUT", "patterns": ["x+y"]}, created_by="ada")


@pytest.mark.parametrize("message", [
    FROB.format(n=3, s=4),
    "Invalid value 'abc' for field \"x\" at /tmp/a/b.txt from 10.0.0.1:80 id 3f2a9c1e-1111-2222-3333-444455556666",
    "took 12.5s at 2026-11-29T02:00:00Z (0xdeadbeef)",
    "see https://example.invalid/x?y=1 or mail ops@example.invalid",
])
def test_template_regex_matches_its_own_examples(message):
    regex = template_to_regex(normalise_message(message))
    assert re.search(regex, message, re.IGNORECASE), regex
    assert not re.search(regex, "something else entirely")


def test_suggest_code_is_valid():
    from loaders.catalog.promotion import suggest_code

    assert suggest_code("widget <n> frobnicator exploded at <path>", "TOOL") == "TOOL_WIDGET_FROBNICATOR_EXPLODED"
    assert suggest_code("<n> <n>", None) == "NEW_PATTERN"
    assert build_entry({**FORM, "code": suggest_code("x " * 100 + "long words " * 50, "DATA"),
                        "patterns": ["x"]}, created_by="a").code.startswith("DATA_LONG")
