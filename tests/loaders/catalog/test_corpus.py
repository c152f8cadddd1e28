"""The matcher on real error messages (tests/error_corpus and its second corpus, from other libraries): how many
get the meaning an on-call engineer would give them, how many get another meaning (wrong is worse than unknown),
per meaning."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from loaders.catalog.file import read_catalog_file
from loaders.catalog.matcher import Matcher

HERE = Path(__file__).resolve().parents[2] / "error_corpus"
CORPORA = (HERE / "corpus.jsonl", HERE / "second" / "corpus.jsonl")
MIN_RIGHT, MAX_WRONG = 0.97, 0.01


@pytest.fixture(scope="module")
def scored() -> list[tuple[dict, str | None, str]]:
    matcher = Matcher(read_catalog_file()[1])
    rows = [json.loads(line) for path in CORPORA for line in path.read_text().splitlines() if line.strip()]
    out = []
    for row in rows:
        result = matcher.match(None, row["message"])
        out.append((row, result.entry.code if result.entry else None, result.reason))
    return out


def _verdict(row: dict, got: str | None) -> str:
    if got in {row["meaning"], *row.get("accept", ())}:
        return "right"
    return "unknown" if got is None else "wrong"


def test_the_corpus_is_real_and_wide(scored):
    libraries = {row["library"].split()[0] for row, _, _ in scored}
    assert len(scored) >= 1000 and len(libraries) >= 150
    known = {e.code for e in read_catalog_file()[1]}
    assert {row["meaning"] for row, _, _ in scored} <= known  # every meaning is a catalog entry


def test_the_matcher_gets_the_meaning_of_real_messages(scored):
    verdicts = Counter(_verdict(row, got) for row, got, _ in scored)
    total = len(scored)
    per_meaning: dict[str, Counter] = {}
    for row, got, _ in scored:
        per_meaning.setdefault(row["meaning"], Counter())[_verdict(row, got)] += 1
    report = "\n".join(f"{m:32} {c['right']:3}/{sum(c.values()):3} right, {c['wrong']} wrong, {c['unknown']} unknown"
                       for m, c in sorted(per_meaning.items()))
    wrong = [(row["meaning"], got, row["message"][:100]) for row, got, _ in scored if _verdict(row, got) == "wrong"]
    print(f"\n{verdicts['right']}/{total} right ({verdicts['right'] / total:.1%}), {verdicts['wrong']} wrong, "
          f"{verdicts['unknown']} unknown\n{report}")
    assert verdicts["wrong"] <= MAX_WRONG * total, wrong
    assert verdicts["right"] >= MIN_RIGHT * total, report


def test_every_answer_says_why(scored):
    for row, got, reason in scored:
        assert reason, row["id"]
        if got is None:
            assert reason.startswith("no catalog entry: read "), reason
