"""The Operations pages by role, and a word for someone whose link names one of them that their role lacks."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from core.security import PERMISSIONS, ROLES, Principal

_REFUSED_KEY = "failcat_page_refused"


@dataclass(frozen=True)
class Operation:
    """One Operations page: its file, menu entry, address and the action its role must allow."""

    path: str
    title: str
    icon: str
    url_path: str
    action: str


OPERATIONS = (
    Operation("pages/oncall.py", "On-call", ":material/support_agent:", "oncall", "recover"),
    Operation("pages/exports.py", "Exports", ":material/cloud_upload:", "exports", "export"),
    Operation("pages/admin.py", "Admin", ":material/admin_panel_settings:", "admin", "admin"),
)


def role_needed(action: str) -> str:
    """The first role, from viewer up, whose permissions include `action`."""
    return next(role for role in ROLES if action in PERMISSIONS[role])


def _stand_in(op: Operation, principal: Principal) -> Callable[[], None]:
    def refused() -> None:
        st.session_state[_REFUSED_KEY] = (op.title, role_needed(op.action), principal.role)
        st.switch_page("pages/overview.py")

    refused.__name__ = f"refused_{op.url_path}"
    return refused


def operation_pages(principal: Principal) -> tuple[list[st.Page], list[st.Page]]:
    """The Operations pages the principal may open, and hidden stand-ins answering at the other ones' addresses."""
    allowed: list[st.Page] = []
    stand_ins: list[st.Page] = []
    for op in OPERATIONS:
        if principal.can(op.action):
            allowed.append(st.Page(op.path, title=op.title, icon=op.icon, url_path=op.url_path))
        else:
            # Without a page at its address, a bookmarked /admin would open Overview with no word of why.
            stand_ins.append(st.Page(_stand_in(op, principal), title=op.title, url_path=op.url_path,
                                     visibility="hidden"))
    return allowed, stand_ins


def page_refused_notice() -> None:
    """Say once, on the page opened instead, which page the link named and the role it needs."""
    refused = st.session_state.pop(_REFUSED_KEY, None)
    if refused is not None:
        title, needed, role = refused
        st.info(f"The {title} page needs the {needed} role; your account has the {role} role, so Overview "
                "opened instead. An admin can change your role.", icon=":material/lock:")
