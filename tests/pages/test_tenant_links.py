"""A link naming a tenant the dashboard has not listed yet: known once its failures are stored, refused otherwise."""
from __future__ import annotations

from core.types import utcnow
from loaders.ingest.pipeline import IngestPipeline
from tests.support.apptest import app_for, shown_text, signed_in


def test_a_tenant_ingested_after_the_list_was_cached_opens_from_a_link(engine, seeded):
    ana = signed_in(engine)
    at = app_for("pages/overview.py", ana).run()  # caches the tenant list
    assert "newco" not in at.selectbox(key="tenant").options
    IngestPipeline(engine).ingest([{"tenant_id": "newco", "run_id": "r1", "error_code": "NET_TIMEOUT",
                                    "error_message": "read timed out", "occurred_at": utcnow().isoformat()}])
    at = app_for("pages/overview.py", ana, {"tenant": "newco"}).run()
    assert not at.exception, at.exception
    assert not at.warning, [w.value for w in at.warning]
    assert at.selectbox(key="tenant").value == "newco"
    assert {m.label: m.value for m in at.metric}["Failures"] == "1"


def test_a_tenant_that_does_not_exist_is_still_refused(engine, seeded):
    at = app_for("pages/overview.py", signed_in(engine), {"tenant": "nobody-here"}).run()
    assert not at.exception, at.exception
    assert "Ignored unknown tenant" in shown_text(at)
    assert at.selectbox(key="tenant").value != "nobody-here"


def test_a_tenant_bound_person_is_told_a_links_tenant_was_ignored_without_learning_if_it_exists(engine, seeded):
    vic = signed_in(engine, "vic", "viewer", "acme")
    seen = []
    for other in ("globex", "no-such-tenant"):
        at = app_for("pages/overview.py", vic, {"tenant": other}).run()
        assert not at.exception, at.exception
        seen.append([w.value.replace(other, "X") for w in at.warning])
    assert seen[0] == seen[1] and any("sees tenant" in w for w in seen[0]), seen
