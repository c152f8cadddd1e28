"""What `make run` installs (requirements.txt) is pinned and holds no test or lint tool; those are in
requirements-dev.txt, which `make test` adds on top."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_TOOLS = {"pytest", "pytest-xdist", "moto", "playwright", "schemathesis", "hypothesis", "ruff", "mypy",
              "httpx2", "pytest-timeout"}


def _packages(name: str) -> dict[str, str]:
    lines = [line.split("#")[0].strip() for line in (ROOT / name).read_text().splitlines()]
    pins = {}
    for line in filter(None, lines):
        if line.startswith("-r "):
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-\[\],]+)==([^\s;]+)(\s*;.*)?", line)
        assert match, f"{name}: {line!r} is not pinned with =="
        pins[re.sub(r"\[.*\]", "", match.group(1)).lower()] = match.group(2)
    return pins


def test_running_needs_only_pinned_runtime_packages():
    runtime = _packages("requirements.txt")
    assert runtime and not (set(runtime) & TEST_TOOLS), set(runtime) & TEST_TOOLS


def test_the_test_tools_are_development_requirements():
    dev = _packages("requirements-dev.txt")
    assert {"pytest", "moto", "playwright", "ruff", "mypy"} <= set(dev)
    assert not set(dev) & set(_packages("requirements.txt"))  # each package pinned in one place
