"""Failure detail: fields, catalog entry, history, same run and signature; bad and foreign ids."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from core.schema import failure_matches as fm
from core.schema import recovery_events as re_
from tests.support.apptest import app_for, shown_text, signed_in


def _row(engine, failure_id):
    with engine.connect() as conn:
        return conn.execute(select(fm).where(fm.c.id == uuid.UUID(failure_id))).mappings().one()


def test_detail_shows_fields_history_and_relatives(engine, seeded):
    fid = seeded.recovered_ids[0]
    row = _row(engine, fid)
    at = app_for("pages/failure.py", signed_in(engine), {"id": fid}).run()
    assert not at.exception, at.exception
    assert f">{row['error_code']}</h1>" in " ".join(h.proto.body for h in at.get("html"))
    tables = [d.value for d in at.dataframe]
    fields = dict(zip(tables[0]["field"], tables[0]["value"], strict=True))
    assert fields["id"] == fid and fields["run_id"] == row["run_id"] and fields["tenant_id"] == row["tenant_id"]
    with engine.connect() as conn:
        history = conn.execute(select(re_.c.to_state, re_.c.actor).where(re_.c.failure_id == row["id"])).all()
        same = [fm.c.tenant_id == row["tenant_id"], fm.c.id != row["id"]]
        same_run = {str(r[0]) for r in conn.execute(select(fm.c.id).where(fm.c.run_id == row["run_id"], *same))}
        same_sig = {str(r[0]) for r in conn.execute(select(fm.c.id).where(fm.c.signature == row["signature"], *same))}
    assert history, "the seed marked this failure recovered"
    shown = " ".join(h.proto.body for h in at.get("html"))
    assert all(f"<td>{to}</td><td>{by}</td>" in shown for to, by in history), shown
    related = tables[1:]
    if same_run:
        assert set(related.pop(0)["id"]) == same_run
    if same_sig:
        assert set(related.pop(0)["id"]) == same_sig


def test_detail_shows_catalog_entry_and_context(engine, seeded):
    with engine.connect() as conn:
        fid = str(conn.execute(select(fm.c.id).where(fm.c.error_code == "NET_TIMEOUT")).first()[0])
    at = app_for("pages/failure.py", signed_in(engine), {"id": fid}).run()
    assert not at.exception
    assert "Recovery suggestions" in shown_text(at)
    assert at.json and "attempt" in at.json[0].value


def test_detail_bad_missing_and_foreign_ids(engine, seeded):
    principal = signed_in(engine)
    for params, words in (({}, "No failure id"), ({"id": "not-a-uuid"}, "is not a failure id"),
                          ({"id": str(uuid.uuid4())}, "No failure")):
        at = app_for("pages/failure.py", principal, params).run()
        assert not at.exception
        assert any(words in w.value for w in at.warning), (params, [w.value for w in at.warning])
    with engine.connect() as conn:
        foreign = str(conn.execute(select(fm.c.id).where(fm.c.tenant_id == "globex")).first()[0])
    at = app_for("pages/failure.py", signed_in(engine, "vic", "viewer", "acme"), {"id": foreign}).run()
    assert not at.exception
    assert any("No failure" in w.value for w in at.warning)
    assert "globex" not in shown_text(at)


def test_detail_says_why_it_matched_or_what_a_miss_read(engine, metrics):
    from loaders.ingest.pipeline import IngestPipeline

    report = IngestPipeline(engine, metrics=metrics).ingest([
        {"tenant_id": "acme", "run_id": "r1", "error_message": "connect ECONNREFUSED 10.0.0.7:5432"},
        {"tenant_id": "acme", "run_id": "r2", "error_message": "widget frobnication failed for batch 42"},
    ])
    hit, miss = report.ids
    html = " ".join(h.proto.body for h in app_for("pages/failure.py", signed_in(engine, "bo"), {"id": str(hit)})
                    .run().get("html"))
    assert "Matched by the signals it carries: connection refused" in html and "(refused connection rule)" in html
    html = " ".join(h.proto.body for h in app_for("pages/failure.py", signed_in(engine, "cy"), {"id": str(miss)})
                    .run().get("html"))
    assert "No catalog entry matched. The matcher read no exception class" in html
