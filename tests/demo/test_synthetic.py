"""The synthetic generator: realistic shape, unknown templates that miss the real catalog, seeded output."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.schema import failure_matches, failure_rollups, recovery_events
from core.types import utcnow
from demo.messages import UNKNOWN_TEMPLATES, fill_unknown
from demo.seed import seed_database
from demo.synthetic import RECOVERY_PROFILE, SyntheticGenerator, usable_unknown_templates
from loaders.catalog.file import read_catalog_file
from loaders.catalog.matcher import Matcher
from loaders.catalog.signature import signature_of
from loaders.ingest.events import validate_event

END = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)  # a Friday evening


@pytest.fixture(scope="module")
def catalog():
    """The real shipped catalog file, read as it is right now."""
    return read_catalog_file()[1]


@pytest.fixture(scope="module")
def matcher(catalog):
    return Matcher(catalog)


@pytest.fixture(scope="module")
def planned(catalog, matcher):
    gen = SyntheticGenerator(catalog, seed=11, tenants=5, days=14, end=END, matcher=matcher)
    return list(gen.generate(20000))


def test_unknown_templates_miss_the_real_catalog(matcher):
    import random

    rng = random.Random(1)
    for template in UNKNOWN_TEMPLATES:
        for _ in range(50):
            message = fill_unknown(template, rng)
            result = matcher.match(None, message)
            assert not result.matched, f"unknown template hits the catalog: {message!r} -> {result.error_code}"
    assert usable_unknown_templates(matcher) == list(UNKNOWN_TEMPLATES)


def test_every_event_is_valid_and_known_codes_hit_by_code(planned, matcher, catalog):
    codes = {e.code for e in catalog}
    for i, p in enumerate(planned[:3000]):
        assert not isinstance(validate_event(p.event, i), list), p.event
        result = matcher.match(p.event.get("error_code"), p.event["error_message"])
        if p.expected_code is None:
            assert not result.matched and "error_code" not in p.event
        else:
            assert p.expected_code in codes
            assert (result.match_type, result.error_code) == ("code", p.expected_code)


def test_about_15_percent_unmatched_in_recurring_clusters(planned):
    unknown = [p for p in planned if p.expected_code is None]
    share = len(unknown) / len(planned)
    assert 0.12 <= share <= 0.18
    signatures = Counter(signature_of(p.event["error_message"]) for p in unknown)
    # Each template normalises to (about) one signature, so thousands of messages form a few clusters.
    assert len(signatures) <= 2 * len(UNKNOWN_TEMPLATES)
    assert signatures.most_common(1)[0][1] >= len(unknown) / 10
    assert len({p.event["error_message"] for p in unknown}) > len(unknown) * 0.9  # the texts themselves vary


def test_daily_rhythm_working_hours_busier_than_night(planned):
    hours = Counter(datetime.fromisoformat(p.event["occurred_at"]).hour for p in planned)
    working = sum(hours[h] for h in range(9, 17)) / 8
    night = sum(hours[h] for h in range(0, 5)) / 5
    assert working > 3 * night
    times = [datetime.fromisoformat(p.event["occurred_at"]) for p in planned]
    assert min(times) >= END - timedelta(days=14) and max(times) < END


def test_incidents_make_one_code_spike_within_90_minutes(planned):
    per_slot = Counter(
        (p.event["tenant_id"], p.expected_code, datetime.fromisoformat(p.event["occurred_at"]).replace(
            minute=0, second=0, microsecond=0))
        for p in planned if p.expected_code
    )
    counts = sorted(per_slot.values())
    median = counts[len(counts) // 2]
    assert counts[-1] > 10 * max(median, 1)


def test_runs_have_several_failures_with_increasing_steps(planned):
    runs: dict[str, list] = {}
    for p in planned:
        runs.setdefault(p.event["run_id"], []).append(p.event)
    multi = [evs for evs in runs.values() if len(evs) > 1]
    assert len(multi) > len(runs) / 4
    for evs in multi[:200]:
        assert len({e["tenant_id"] for e in evs}) == 1
        steps = [e["step_index"] for e in evs]
        assert steps == sorted(steps)
    assert {"skill_id", "context", "step_index"} <= set(planned[0].event)
    assert len({p.event["tenant_id"] for p in planned}) == 5


def test_messages_look_like_real_libraries(planned, matcher):
    by_code: dict[str, set[str]] = {}
    for p in planned:
        if p.expected_code:
            by_code.setdefault(p.expected_code, set()).add(p.event["error_message"])
    # Hosts, ports, ids and paths vary (a few real texts, like OpenAI's quota message, are fixed).
    varied = [code for code, messages in by_code.items() if len(messages) > 1]
    assert len(varied) >= 0.8 * len(by_code)
    # Realistic means the catalog recognises the text itself, not only the code sent with it.
    known = [p for p in planned if p.expected_code][:5000]
    by_message = sum(matcher.match(None, p.event["error_message"]).error_code == p.expected_code for p in known)
    assert by_message >= 0.8 * len(known)
    texts = " ".join(m for ms in by_code.values() for m in ms)
    assert "HTTPSConnectionPool(host=" in texts and "Error code: 4" in texts


def test_recovery_success_depends_on_mode(planned, catalog):
    mode = {e.code: e.recovery_mode for e in catalog}
    tried: Counter = Counter()
    ok: Counter = Counter()
    for p in planned:
        m = mode.get(p.expected_code, "NONE")
        if p.recovery is not None:
            tried[m] += 1
            ok[m] += p.recovery
    for m, n in tried.items():
        if m in RECOVERY_PROFILE and m.startswith("RETRY_") and n > 200:
            assert ok[m] / n > 0.75
    # Against the profile itself for a synthetic ABORT/MANUAL catalog, independent of the shipped one.
    from loaders.catalog.file import CatalogEntry

    entries = [CatalogEntry(code=c, category="X", severity="high", message="m", recovery_mode=c.split("_", 1)[1])
               for c in ("A_RETRY_EXPONENTIAL", "B_MANUAL_INTERVENTION", "C_ABORT")]
    items = list(SyntheticGenerator(entries, seed=3, tenants=2, days=3, end=END).generate(9000))
    stats = {}
    for e in entries:
        mine = [p for p in items if p.expected_code == e.code]
        attempted = [p for p in mine if p.recovery is not None]
        success = sum(p.recovery for p in attempted) / max(1, len(attempted))
        stats[e.recovery_mode] = (len(attempted) / len(mine), success)
    assert stats["RETRY_EXPONENTIAL"][0] > 0.8 and stats["RETRY_EXPONENTIAL"][1] > 0.8
    assert stats["MANUAL_INTERVENTION"][1] < stats["RETRY_EXPONENTIAL"][1] - 0.2
    assert stats["ABORT"][0] < 0.2


def test_same_seed_same_events(catalog):
    a = [p.event for p in SyntheticGenerator(catalog, seed=5, tenants=3, days=2, end=END).generate(500)]
    b = [p.event for p in SyntheticGenerator(catalog, seed=5, tenants=3, days=2, end=END).generate(500)]
    c = [p.event for p in SyntheticGenerator(catalog, seed=6, tenants=3, days=2, end=END).generate(500)]
    assert a == b and a != c


def test_seed_database_stores_events_recoveries_and_rollups(engine, metrics):
    end = utcnow()
    report = seed_database(engine, events=1500, tenants=3, days=2, seed=21, end=end)
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(failure_matches)).scalar_one()
        unmatched = conn.execute(
            select(func.count()).where(failure_matches.c.catalog_entry_id.is_(None))
        ).scalar_one()
        attempted = conn.execute(
            select(func.count()).where(failure_matches.c.recovery_attempted.is_(True))
        ).scalar_one()
        succeeded = conn.execute(
            select(func.count()).where(failure_matches.c.recovery_succeeded.is_(True))
        ).scalar_one()
        history = conn.execute(select(func.count()).select_from(recovery_events)).scalar_one()
        roll = conn.execute(select(func.sum(failure_rollups.c.failures), func.sum(failure_rollups.c.recovery_attempts),
                                   func.sum(failure_rollups.c.recovery_successes))).one()
        tenants = conn.execute(select(func.count(func.distinct(failure_matches.c.tenant_id)))).scalar_one()
    assert stored == 1500 == report.ingest.inserted
    assert 0.1 < unmatched / stored < 0.2
    assert attempted == report.recoveries_attempted == history > 0
    assert succeeded == report.recoveries_succeeded
    assert tuple(roll) == (stored, attempted, succeeded)
    assert tenants == 3
    # The same seed over the same period again produces the same ids: nothing is stored twice. (The period is
    # fixed: times are drawn by the hour's rhythm, so a window a second later can draw other times and ids.)
    again = seed_database(engine, events=1500, tenants=3, days=2, seed=21, end=end)
    assert again.ingest.inserted == 0 and again.ingest.duplicates == 1500
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(failure_matches)).scalar_one() == 1500
        assert conn.execute(select(func.sum(failure_rollups.c.failures))).scalar_one() == 1500


def test_seeded_demo_data_never_shares_a_signature_between_codes(engine, metrics):
    """The demo's failures (real-looking messages of every entry, request ids, unknown clusters) keep one error
    code per signature, and a message seen with several request ids keeps one signature."""
    seed_database(engine, events=6000, tenants=4, days=7, seed=3)
    fm = failure_matches
    with engine.connect() as conn:
        shared = conn.execute(
            select(fm.c.signature, func.count(func.distinct(fm.c.error_code)))
            .group_by(fm.c.signature).having(func.count(func.distinct(fm.c.error_code)) > 1)).all()
        per_code = dict(conn.execute(select(fm.c.error_code, func.count(func.distinct(fm.c.signature)))
                                     .group_by(fm.c.error_code)).all())
        codes = conn.execute(select(func.count(func.distinct(fm.c.error_code)))).scalar_one()
    assert codes > 30  # the check covers many codes
    assert shared == []
    # Variable parts are normalised: codes come in a handful of message shapes, not one per failure.
    assert max(per_code.values()) < 40, per_code
