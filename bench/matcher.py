"""Matcher throughput over the shipped catalog: messages/s for a mix of hits and misses.

`.venv/bin/python -m bench.matcher [--messages 20000] [--miss-share 0.15] [--rounds 3]` builds a Matcher from
the shipped catalog file (no database), matches a seeded mix of real-library-style hits and unknown
misses, and prints JSON lines {"name", "value", "unit"}: the mix (best of the rounds), hits only, misses
only, the real corpus (tests/error_corpus, each message matched cold), and as "baseline" the rate of trying
every pattern regex in order without the prefilter.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loaders.catalog.file import read_catalog_file
from loaders.catalog.matcher import Matcher

HITS = [
    "HTTPConnectionPool(host='{host}', port={port}): Max retries exceeded with url: /v1/{n} (Caused by "
    "NewConnectionError(\"HTTPConnection(host='{host}', port={port}): Failed to establish a new connection: "
    "[Errno 111] Connection refused\"))",
    "HTTPSConnectionPool(host='{host}', port=443): Read timed out. (read timeout={n})",
    "429 Client Error: Too Many Requests for url: https://{host}/v1/chat/{n}",
    "503 Server Error: Service Unavailable for url: https://{host}/api/{n}",
    'connection to server at "10.0.{n}.7", port 5432 failed: FATAL:  database "tenant_{n}" does not exist',
    'connection to server at "10.0.{n}.7", port 5432 failed: Connection refused\n\tIs the server running on '
    "that host and accepting TCP/IP connections?",
    "Expecting value: line 1 column {n} (char {m})",
    "[Errno 13] Permission denied: '/var/lib/agent/runs/{n}/out.json'",
    'Could not connect to the endpoint URL: "https://{host}/bucket/{n}.json"',
    "Error code: 400 - {{'error': {{'message': \"This model's maximum context length is 8192 tokens. However, "
    "your messages resulted in {m} tokens.\", 'type': 'invalid_request_error', 'code': 'context_length_exceeded'}}}}",
    "Error code: 529 - {{'type': 'error', 'error': {{'type': 'overloaded_error', 'message': 'Overloaded'}}}}",
    "tool 'web_search_{n}' timed out after {m}s",
    "[Errno 28] No space left on device: '/tmp/agent-{n}/chunk.parquet'",
    "KeyError: 'choices_{n}'",
    "failed to save checkpoint for run {n}: store returned 500",
    "prompt injection detected in tool output from {host}",
]
MISSES = [
    "widget frobnication failed for batch {n}",
    "ledger reconciliation mismatch: expected {n} entries, found {m}",
    "unexpected state in planner: step {n} has no successor",
    "itinerary builder looped {n} times without converging",
    "calendar sync produced {n} overlapping slots for room {m}",
    "spreadsheet macro returned a negative inventory of {m} units for sku {n}",
]
CORPUS = Path(__file__).resolve().parents[1] / "tests" / "error_corpus" / "corpus.jsonl"
HOSTS = ("api.example.com", "db-primary.prod.internal", "127.0.0.1", "vector-store.example.net")


def make_messages(count: int, miss_share: float, seed: int = 1) -> tuple[list[str], list[str]]:
    """A seeded list of hit messages and of miss messages, `count` in all."""
    rng = random.Random(seed)
    misses = round(count * miss_share)

    def fill(template: str) -> str:
        return template.format(host=rng.choice(HOSTS), port=rng.randint(1024, 65535),
                               n=rng.randint(1, 99999), m=rng.randint(1, 9999))

    return [fill(rng.choice(HITS)) for _ in range(count - misses)], [fill(rng.choice(MISSES)) for _ in range(misses)]


def rate(make: Callable[[], Callable[[str], Any]], messages: list[str], rounds: int) -> float:
    """Best messages/s of `rounds` passes over the messages, each with a fresh matcher (cold cache)."""
    best = 0.0
    for _ in range(rounds):
        fn = make()
        start = time.perf_counter()
        for message in messages:
            fn(message)
        best = max(best, len(messages) / (time.perf_counter() - start))
    return best


def _emit(name: str, value: float, unit: str, **extra: Any) -> None:
    print(json.dumps({"name": name, "value": round(value, 1), "unit": unit, **extra}), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--miss-share", type=float, default=0.15)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    _version, entries = read_catalog_file()
    matcher = Matcher(entries)
    hits, misses = make_messages(args.messages, args.miss_share)
    mix = hits + misses
    random.Random(2).shuffle(mix)
    # Sanity: the bench only means something if hits hit and misses miss.
    assert all(matcher.match(None, m).matched for m in hits[:500]), "a bench hit message missed"
    assert not any(matcher.match(None, m).matched for m in misses[:500]), "a bench miss message matched"

    every = [re.compile(p, re.IGNORECASE) for e in matcher.entries for p in e.patterns]

    def naive(message: str) -> bool:
        return any(r.search(message) for r in every)

    def fresh_match() -> Callable[[str], Any]:
        m = Matcher(entries)
        return lambda message: m.match(None, message)

    baseline = rate(lambda: naive, mix[: max(1, len(mix) // 5)], 1)
    mixed = rate(fresh_match, mix, args.rounds)
    _emit("matcher_messages_per_s", mixed, "msg/s", messages=len(mix), miss_share=args.miss_share,
          entries=len(matcher.entries), baseline=round(baseline, 1), baseline_name="every pattern in order")
    _emit("matcher_hits_per_s", rate(fresh_match, hits, args.rounds), "msg/s")
    _emit("matcher_misses_per_s", rate(fresh_match, misses, args.rounds), "msg/s")
    # Real messages from 89 libraries (tests/error_corpus): most go past the patterns to the signal rules.
    corpus = [json.loads(line)["message"] for line in CORPUS.read_text().splitlines() if line.strip()]
    real = corpus  # each distinct message once per round: no answer comes from the cache
    _emit("matcher_real_corpus_per_s", rate(fresh_match, real, args.rounds), "msg/s", distinct=len(corpus))
    # Verbatim repeats (the same message text again) are answered from the matcher's memory.
    warm = Matcher(entries)
    repeated = [mix[i % 200] for i in range(len(mix))]
    _emit("matcher_repeated_messages_per_s", rate(lambda: (lambda m: warm.match(None, m)), repeated, 1), "msg/s")


if __name__ == "__main__":
    main()
