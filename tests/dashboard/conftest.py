"""Glue tests share the page tests' seed and cache reset (tests/support/apptest.py)."""
from tests.support.apptest import _fresh_caches, seeded  # noqa: F401 - fixtures for the tests here
