"""Failure detail: fields, catalog entry, history, same run and signature; bad and foreign ids."""
from __future__ import annotations

import html
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from core.ids import group_id
from core.schema import failure_groups as g
from core.schema import failure_matches as fm
from core.schema import group_events as ge
from core.schema import recovery_events as re_
from core.types import utcnow
from queries.groups.triage import Triage, update_group
from tests.support.apptest import app_for, shown_text, signed_in
from tests.support.ops_seed import app_navigation_mode  # noqa: F401  (autouse: clicks reach the page)


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
    assert fields["Failure id"] == fid and fields["Run"] == row["run_id"] and fields["Tenant"] == row["tenant_id"]
    with engine.connect() as conn:
        history = conn.execute(select(re_.c.to_state, re_.c.actor).where(re_.c.failure_id == row["id"])).all()
        same = [fm.c.tenant_id == row["tenant_id"], fm.c.id != row["id"]]
        same_run = {str(r[0]) for r in conn.execute(select(fm.c.id).where(fm.c.run_id == row["run_id"], *same))}
        same_sig = {str(r[0]) for r in conn.execute(select(fm.c.id).where(fm.c.signature == row["signature"], *same))}
    assert history, "the seed marked this failure recovered"
    shown = " ".join(h.proto.body for h in at.get("html"))
    assert all(f"<td>{to}</td><td>{by}</td>" in shown for to, by in history), shown
    related = [t for t in tables[1:] if "link" in t.columns]  # not the group's history table
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


def test_detail_fields_are_what_a_person_reads(engine, seeded):
    fid = seeded.failed_ids[0]
    row = _row(engine, fid)
    at = app_for("pages/failure.py", signed_in(engine), {"id": fid}).run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    fields = dict(zip(table["field"], table["value"], strict=True))
    shown = " ".join(table["field"])
    assert "severity_rank" not in shown and "version" not in shown.lower()
    assert "rank" not in shown.lower() and "catalog_entry_id" not in shown
    assert fields["Code"] == row["error_code"] and fields["Run"] == row["run_id"]
    assert fields["Category"] == (row["category"] or "") and fields["Severity"] == (row["severity"] or "")
    assert fields["Recovery mode"] == (row["recovery_mode"] or "") and fields["Skill"] == (row["skill_id"] or "")
    assert fields["Recovery state"] == "failed"  # the seed marked this one's recovery failed
    assert fields["Last attempt by"] == row["recovered_by"] == "seed"
    assert fields["Occurred"].startswith(f"{row['created_at']:%Y-%m-%d %H:%M:%S}")  # UTC in tests
    assert fields["Signature (its group)"] == row["signature"]
    assert fields["Match reason"] == (row["match_reason"] or "")


def _related(at):  # type: ignore[no-untyped-def]
    return [d.value for d in at.dataframe[1:] if "link" in d.value.columns]


def _back_link(at):  # type: ignore[no-untyped-def]
    links = [p.proto for p in at.page_link if p.proto.label == "Back to Explore"]
    assert len(links) == 1, [p.proto.label for p in at.page_link]
    return links[0]


def test_a_failure_opened_from_explore_links_back_to_the_same_view(engine, seeded):
    principal = signed_in(engine)
    wanted = {"view": "list", "code": "NET_TIMEOUT", "range": "30d", "tenant": "acme"}
    explore = app_for("pages/explore.py", principal, wanted).run()
    assert not explore.exception, explore.exception
    links = next(d.value for d in explore.dataframe if "link" in d.value.columns)["link"]
    assert len(links) > 0
    first = urlsplit(links.iloc[0])
    assert first.path == "failure" and not first.netloc and not first.scheme
    query = parse_qs(first.query)
    back = query["back"][0]
    assert {k: v[0] for k, v in parse_qs(back).items()} == wanted
    at = app_for("pages/failure.py", principal, {"id": query["id"][0], "back": back}).run()
    assert not at.exception, at.exception
    link = _back_link(at)
    assert link.page == "explore" and not link.external
    assert {k: v[0] for k, v in parse_qs(link.query_string).items()} == wanted
    # Links to related failures carry the same view on.
    related = _related(at)
    assert related and all(parse_qs(urlsplit(u).query)["back"] == [back] for d in related for u in d["link"])


@pytest.mark.parametrize("back", [
    "http://evil.example/x", "javascript:alert(1)", "//evil.example", "https://evil.example/?view=list",
    "view=list&next=http://evil.example", "view=list&view=groups", "q=a%0Ab", "view=list&" + "q=x" * 2000,
])
def test_a_crafted_back_value_gives_a_plain_link_to_explore(engine, seeded, back):
    at = app_for("pages/failure.py", signed_in(engine), {"id": seeded.recovered_ids[0], "back": back}).run()
    assert not at.exception, at.exception
    link = _back_link(at)
    assert (link.page, link.query_string, link.external) == ("explore", "", False)
    assert "evil" not in " ".join(p.proto.page + p.proto.query_string for p in at.page_link)
    assert all("back=" not in u for d in _related(at) for u in d["link"])


NOTE = "Restart the pool first ![x](http://evil.example/x.png) **then** <b>check</b> [me](javascript:alert(1))"


def _group(engine, failure_id):  # type: ignore[no-untyped-def]
    row = _row(engine, failure_id)
    gid = group_id(row["tenant_id"], row["signature"])
    with engine.connect() as conn:
        return conn.execute(select(g).where(g.c.id == gid)).mappings().one()


def _not_markdown(at) -> str:  # type: ignore[no-untyped-def]
    """Everything Streamlit reads as Markdown (st.html and dataframes are not)."""
    kinds = ("markdown", "caption", "title", "header", "subheader", "info", "warning", "error", "success")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def _history_table(at):  # type: ignore[no-untyped-def]
    return next(d.value for d in at.dataframe if "what" in d.value.columns)


def _group_buttons(at) -> list:  # type: ignore[no-untyped-def]
    return [b for b in at.button if (b.key or "").startswith(("detail_g", "detail_gp"))]


def test_the_group_box_shows_notes_ignore_end_and_history_as_text(engine, seeded):
    fid = seeded.recovered_ids[0]
    group = _group(engine, fid)
    until = (utcnow() + timedelta(days=2)).replace(second=0, microsecond=0)
    with engine.begin() as conn:
        update_group(conn, group_id=group["id"], tenant_id=None, triage=Triage(notes=NOTE), actor="olga",
                     source="api", now=utcnow())
        update_group(conn, group_id=group["id"], tenant_id=None, actor="paul", source="dashboard", now=utcnow(),
                     triage=Triage(state="ignored", ignore_until=until))
    at = app_for("pages/failure.py", signed_in(engine, "vic", "viewer"), {"id": fid}).run()
    assert not at.exception, at.exception
    assert html.escape(NOTE) in " ".join(h.proto.body for h in at.get("html"))  # as text, via st.html
    assert "evil.example" not in _not_markdown(at) and "javascript" not in _not_markdown(at)
    assert f"ignored until {until:%m-%d %H:%M} UTC" in shown_text(at)  # the state badge (tests run in UTC)
    with engine.connect() as conn:
        events = conn.execute(select(ge.c.actor, ge.c.action, ge.c.source).where(ge.c.group_id == group["id"])
                              .order_by(ge.c.at.desc(), ge.c.id.desc())).all()
    history = _history_table(at)
    assert [(r.actor, r.source) for r in events][:5] == list(zip(history["who"], history["via"], strict=True))
    assert history["what"].tolist() == [f"unresolved → ignored until {until:%m-%d %H:%M} UTC", f"notes: {NOTE}"]
    # A viewer reads all of it and acts on none of it.
    assert not _group_buttons(at) and not at.text_area
    assert not [c for c in at.checkbox if (c.key or "").startswith("detail_g")]


def test_oncall_assigns_and_resolves_the_group_from_a_failure(engine, seeded):
    fid = seeded.failed_ids[0]
    before = _group(engine, fid)
    at = app_for("pages/failure.py", signed_in(engine, "olga", "oncall"), {"id": fid}).run()
    assert not at.exception, at.exception
    at.button(key="detail_g_assign").click().run()
    assert not at.exception, at.exception
    after = _group(engine, fid)
    assert after["assignee"] == "olga" and after["version"] == before["version"] + 1
    assert any("Assigned 1 group" in s.value for s in at.success), [s.value for s in at.success]
    assert at.button(key="detail_g_assign").disabled  # already hers
    with engine.connect() as conn:
        open_failures = conn.execute(select(func.count()).select_from(fm).where(
            fm.c.tenant_id == after["tenant_id"], fm.c.signature == after["signature"],
            fm.c.recovery_succeeded.is_not(True))).scalar_one()
    assert open_failures > 0  # the seed marked this failure's recovery failed
    at.button(key="detail_g_resolve").click().run()
    assert _group(engine, fid)["state"] == "unresolved"  # asked first
    at.checkbox(key="detail_g_recover").check()
    at.button(key="detail_g_confirm").click().run()
    assert not at.exception, at.exception
    assert _group(engine, fid)["state"] == "resolved"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(fm).where(
            fm.c.tenant_id == after["tenant_id"], fm.c.signature == after["signature"],
            fm.c.recovery_succeeded.is_not(True))).scalar_one() == 0
    s = "" if open_failures == 1 else "s"
    assert any(f"Resolved 1 group; marked {open_failures} open failure{s} recovered" in m.value for m in at.success)
    assert at.button(key="detail_g_resolve").disabled


def test_notes_saved_from_a_failure_carry_the_version_seen(engine, seeded):
    fid = seeded.recovered_ids[0]
    gid = str(_group(engine, fid)["id"])
    at = app_for("pages/failure.py", signed_in(engine, "olga", "oncall"), {"id": fid}).run()
    assert not at.exception, at.exception
    at.text_area(key=f"detail_gp_notes_{gid}").input(NOTE)
    with engine.begin() as conn:  # someone else writes notes while olga types
        update_group(conn, group_id=uuid.UUID(gid), tenant_id=None, triage=Triage(notes="Paul was here first"),
                     actor="paul", source="api", now=utcnow())
    at.button(key=f"detail_gp_save_{gid}").click().run()
    assert not at.exception, at.exception
    errors = " ".join(e.value for e in at.error)
    assert "Nothing was changed" in errors and "by `paul`" in errors, errors
    assert _group(engine, fid)["notes"] == "Paul was here first"
    assert "Paul was here first" in " ".join(h.proto.body for h in at.get("html"))  # now shown above her draft
    assert at.text_area(key=f"detail_gp_notes_{gid}").value == NOTE  # her draft is kept
    at.button(key=f"detail_gp_save_{gid}").click().run()  # having seen his, she saves hers over it
    assert not at.exception, at.exception
    assert any("Saved the notes of 1 group" in s.value for s in at.success), [s.value for s in at.success]
    row = _group(engine, fid)
    assert row["notes"] == NOTE and row["updated_by"] == "olga"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ge).where(
            ge.c.group_id == row["id"], ge.c.action == "notes", ge.c.actor == "olga")).scalar_one() == 1
