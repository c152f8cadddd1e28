"""Fixtures for the API tests: an app on the engine under test and real tokens for every role."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.support.failures import make_token


@pytest.fixture
def client(engine, metrics) -> Iterator[TestClient]:
    """TestClient on create_app(engine=engine) with a fresh metrics registry."""
    with TestClient(create_app(engine=engine, metrics=metrics)) as c:
        yield c


@pytest.fixture
def tokens(engine) -> dict[str, str]:
    """Real tokens: '<role>' (all tenants) and '<role>@t1' (tenant t1) for every role."""
    out = {}
    for role in ("viewer", "oncall", "admin"):
        out[role] = make_token(engine, role, None)
        out[f"{role}@t1"] = make_token(engine, role, "t1")
    return out


def auth(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}
