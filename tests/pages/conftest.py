"""Page tests run the real app.py in AppTest (tests/support/apptest.py)."""
from tests.support.apptest import _fresh_caches, seeded  # noqa: F401 - fixtures for the tests here
