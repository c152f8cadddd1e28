"""Exports page (admin): run an export to a real S3 server, audit table, retry a fallback, download JSON."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from core.schema import failure_pattern_exports as fpe
from core.security import Principal
from core.settings import get_settings
from dashboard.exports import do_export, do_retry, load_export_body
from tests.support.apptest import app_for, shown_text, signed_in
from tests.support.exports import seed_failures
from tests.support.s3 import BUCKET, moto_s3, r2_env  # noqa: F401 - fixtures used below

PAGE = "pages/exports.py"
RUN = "FormSubmitter:exports_run-Run export"
RETRY = "FormSubmitter:exports_retry-Retry upload"


@pytest.fixture(autouse=True)
def _navigation_mode(monkeypatch):
    """Each AppTest run starts in app.py's st.navigation mode, as the real app always does.

    AppTest resets Streamlit's pages-folder mode before every run; dashboard.session.require() then reruns
    through app.py and that rerun drops the click under test. (Same as tests/ops_seed.app_navigation_mode.)
    """
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


def _rows(engine):
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(fpe).order_by(fpe.c.id)).mappings()]


def _downloads(at):
    return [e for e in at.get("download_button")]


def test_run_export_uploads_and_shows_audit_row(engine, r2_env):  # noqa: F811
    seed_failures(engine)
    at = app_for(PAGE, signed_in(engine, "ada", "admin")).run()
    assert not at.exception, at.exception
    assert any("No exports yet" in i.value for i in at.info)
    at.button(key=RUN).click().run()
    assert not at.exception, at.exception
    [row] = _rows(engine)
    assert row["status"] == "uploaded" and row["uploader"] == "dashboard:ada"
    assert any("uploaded and verified" in s.value and row["s3_key"] in s.value for s in at.success), at.success
    body = r2_env.client().get_object(Bucket=BUCKET, Key=row["s3_key"])["Body"].read()
    assert hashlib.sha256(body).hexdigest() == row["sha256"]
    table = at.dataframe[0].value
    assert list(table["id"]) == [row["id"]]
    shown = table.iloc[0]
    assert (shown["status"], shown["sha256"], shown["size_bytes"], shown["location"], shown["retry_count"]) == (
        "uploaded", row["sha256"], len(body), row["s3_key"], 0)
    assert {m.label: m.value for m in at.metric}["Uploaded"] == "1"
    # Any export's JSON can be downloaded: the bytes offered are the object's bytes.
    assert len(_downloads(at)) == 1
    assert load_export_body(row["id"], row["sha256"]) == body


def test_fallback_then_retry_button_uploads_it(engine, r2_env, monkeypatch):  # noqa: F811
    seed_failures(engine)
    monkeypatch.setenv("R2_BUCKET", "missing-bucket")
    get_settings.cache_clear()
    at = app_for(PAGE, signed_in(engine, "ada", "admin")).run()
    at.button(key=RUN).click().run()
    assert not at.exception, at.exception
    [row] = _rows(engine)
    assert row["status"] == "fallback_local"
    assert any("kept locally" in w.value and "does not exist" in w.value for w in at.warning), at.warning
    assert at.dataframe[0].value.iloc[0]["location"] == row["local_path"]
    local = open(row["local_path"], "rb").read()
    assert len(_downloads(at)) == 1  # a fallback can be downloaded too

    monkeypatch.setenv("R2_BUCKET", BUCKET)
    get_settings.cache_clear()
    at.multiselect(key="exports_retry_ids").set_value([row["id"]])
    at.button(key=RETRY).click().run()
    assert not at.exception, at.exception
    [row] = _rows(engine)
    assert (row["status"], row["retry_count"]) == ("uploaded", 1)
    assert any("1 uploaded" in s.value for s in at.success), at.success
    assert r2_env.client().get_object(Bucket=BUCKET, Key=row["s3_key"])["Body"].read() == local
    assert at.dataframe[0].value.iloc[0]["status"] == "uploaded"
    assert not at.get("multiselect") or "exports_retry_ids" not in [m.key for m in at.multiselect]


def test_without_r2_says_so_and_writes_locally(engine):
    at = app_for(PAGE, signed_in(engine, "ada", "admin")).run()
    assert any("R2 is not configured" in i.value for i in at.info)
    at.button(key=RUN).click().run()
    assert not at.exception, at.exception
    [row] = _rows(engine)
    assert row["status"] == "fallback_local" and "unconfigured" in row["notes"]
    assert any("R2 is not configured" in w.value for w in at.warning)


def test_non_admins_get_no_export_controls_and_writes_are_refused(engine):
    for role in ("viewer", "oncall"):
        principal = signed_in(engine, f"u_{role}", role)
        at = app_for(PAGE, principal).run()
        assert not at.exception, at.exception
        assert RUN not in [b.key for b in at.button]
        assert "Run an export" not in shown_text(at)
        # The server-side check refuses even a direct call.
        assert not do_export(principal, tenant_id=None, days=7, min_occurrences=3).ok
        assert not do_retry(principal, ids=None).ok
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(fpe)).scalar() == 0


def test_tenant_scoped_admin_exports_only_its_tenant(engine, r2_env):  # noqa: F811
    seed_failures(engine)
    do_export(Principal("root", "admin", None), tenant_id="t2", days=7, min_occurrences=1)
    scoped = signed_in(engine, "tia", "admin", "t1")
    at = app_for(PAGE, scoped).run()
    assert not at.exception, at.exception
    assert any("No exports yet" in i.value for i in at.info)  # t2's export is not shown
    at.button(key=RUN).click().run()
    rows = _rows(engine)
    mine = [r for r in rows if r["uploader"] == "dashboard:tia"]
    assert len(mine) == 1 and mine[0]["tenant_id"] == "t1"
    assert set(at.dataframe[0].value["tenant_id"]) == {"t1"}
    assert not do_export(scoped, tenant_id="t2", days=7, min_occurrences=1).ok
