"""app.py: sign-in gate, password form, role-based pages, disabled accounts."""
from __future__ import annotations

import pytest

from queries.accounts import set_user_disabled
from tests.support.apptest import PRINCIPAL_KEY, app_for, signed_in


def test_gate_shows_sign_in_and_nothing_else(engine, seeded):
    at = app_for("app.py", None).run()
    assert not at.exception
    assert at.text_input(key="sign_in_name") is not None
    assert not at.metric and not at.dataframe


def test_password_sign_in_then_overview(engine, seeded):
    signed_in(engine, "ana", "oncall")
    at = app_for("app.py", None).run()
    at.text_input(key="sign_in_name").input("ana")
    at.text_input(key="sign_in_password").input("wrong password!")
    at.button[0].click().run()
    assert not at.exception
    assert any("Wrong user name or password" in e.value for e in at.error)
    assert PRINCIPAL_KEY not in at.session_state
    at.text_input(key="sign_in_password").input("correct horse battery")
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state[PRINCIPAL_KEY].role == "oncall"
    assert [t.value for t in at.title] == ["Overview"]


@pytest.mark.parametrize("role, allowed", [("viewer", False), ("oncall", True)])
def test_on_call_page_only_for_roles_that_recover(engine, seeded, role, allowed):
    at = app_for("pages/oncall.py", signed_in(engine, f"u_{role}", role)).run()
    assert not at.exception
    titles = [t.value for t in at.title]
    assert ("On-call" in " ".join(titles)) is allowed
    if not allowed:
        assert not at.button or all("Sign out" in b.label for b in at.button)


def test_admin_page_refused_to_oncall(engine, seeded):
    at = app_for("pages/admin.py", signed_in(engine, "oc", "oncall")).run()
    assert not at.exception
    assert "Admin" not in " ".join(t.value for t in at.title)


def test_disabled_account_is_signed_out(engine, seeded):
    principal = signed_in(engine, "gone", "oncall")
    with engine.begin() as conn:
        set_user_disabled(conn, name="gone", disabled=True)
    at = app_for("pages/overview.py", principal).run()
    assert not at.exception
    assert PRINCIPAL_KEY not in at.session_state
    assert not at.metric and not at.dataframe


def _refused_notice(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [i.value for i in at.info if "page needs the" in i.value]


@pytest.mark.parametrize("page, title, needed", [
    ("pages/oncall.py", "On-call", "oncall"), ("pages/admin.py", "Admin", "admin"),
    ("pages/exports.py", "Exports", "admin"),
])
def test_a_viewer_opening_an_operations_page_is_told_which_role_it_needs(engine, seeded, page, title, needed):
    at = app_for(page, signed_in(engine, "vi", "viewer")).run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Overview"]
    assert _refused_notice(at) == [f"The {title} page needs the {needed} role; your account has the viewer role, "
                                   "so Overview opened instead. An admin can change your role."]
    at.switch_page("pages/overview.py").run()  # where the browser is now
    assert [t.value for t in at.title] == ["Overview"] and not _refused_notice(at)  # said once


def test_an_oncall_user_opening_admin_is_told_it_needs_the_admin_role(engine, seeded):
    at = app_for("pages/admin.py", signed_in(engine, "oc", "oncall")).run()
    assert not at.exception
    notice = _refused_notice(at)
    assert len(notice) == 1 and notice[0].startswith("The Admin page needs the admin role; your account has the "
                                                     "oncall role")


@pytest.mark.parametrize("tenant", [None, "acme"])
@pytest.mark.parametrize("page, title", [("pages/oncall.py", "On-call"), ("pages/admin.py", "Admin"),
                                         ("pages/exports.py", "Exports"), ("pages/overview.py", "Overview")])
def test_admins_never_see_the_role_notice(engine, seeded, page, title, tenant):
    at = app_for(page, signed_in(engine, "ad", "admin", tenant)).run()
    assert not at.exception
    assert not _refused_notice(at)
    assert title in " ".join(t.value for t in at.title)
