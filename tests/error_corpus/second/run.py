"""Provoke the second corpus: real errors from libraries and tools the first corpus does not have; writes corpus.jsonl.

Run as root with the corpus venv:  <corpus venv>/bin/python run.py [--only provoke.http ...]
"""

from __future__ import annotations

import argparse
import collections
import importlib
import json
import os
import re
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from provoke.common import Corpus  # noqa: E402

MODULES = [
    "provoke.httpclients",
    "provoke.dbs",
    "provoke.cachebroker",
    "provoke.apis",
    "provoke.llm",
    "provoke.cloud",
    "provoke.remote",
    "provoke.schema",
    "provoke.asyncrt",
    "provoke.data",
    "provoke.oserr",
    "provoke.cli",
    "provoke.langs",
    "provoke.tls",
    "provoke.netns",
]


def slug(library: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", library.split(" ")[0].lower()).strip("-")


def stats(path: str) -> str:
    rows = [json.loads(line) for line in open(path, encoding="utf-8")]
    out = [f"{len(rows)} messages, {len({slug(r['library']) for r in rows})} libraries and tools.", ""]
    for title, key in (("family", lambda r: r["family"]), ("meaning", lambda r: r["meaning"]),
                       ("library or tool", lambda r: slug(r["library"]))):
        counts = collections.Counter(key(r) for r in rows)
        out += [f"| {title} | messages |", "|---|---|"]
        out += [f"| {k} | {v} |" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        out.append("")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=os.path.join(HERE, "corpus.jsonl"))
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--stats", action="store_true")
    args = ap.parse_args(argv)
    if args.stats:
        print(stats(args.out))
        return 0
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        os.environ.pop(var, None)
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = ""
    corpus = Corpus()
    failures = []
    for name in args.only or MODULES:
        t0 = time.time()
        before = len(corpus.records)
        try:
            importlib.import_module(name).run(corpus)
        except Exception:
            failures.append(name)
            print(f"!! {name} failed:\n{traceback.format_exc()}", file=sys.stderr)
        print(f"{name}: {len(corpus.records) - before} messages in {time.time() - t0:.1f}s", file=sys.stderr)
    # A holdout message must be new text: drop exact/near duplicates of the main corpus and of an earlier holdout
    # record of any library (the stdlib often raises the same text under different libraries).
    from provoke.common import _norm

    main_corpus = os.path.join(os.path.dirname(HERE), "main", "tests", "error_corpus", "corpus.jsonl")
    seen = set()
    if os.path.exists(main_corpus):
        seen = {_norm(json.loads(line)["message"]) for line in open(main_corpus, encoding="utf-8")}
    kept = []
    for rec in corpus.records:
        key = _norm(rec["message"])
        if key in seen:
            corpus.skipped.append(f"{rec['library']}: {rec['provoked']}: same text as the main corpus or an "
                                  f"earlier holdout message")
            continue
        seen.add(key)
        kept.append(rec)
    corpus.records = kept
    counters: dict = collections.Counter()
    with open(args.out, "w", encoding="utf-8") as f:
        for rec in corpus.records:
            key = (rec["family"], slug(rec["library"]))
            counters[key] += 1
            row = {"id": f"holdout-{key[0]}-{key[1]}-{counters[key]}", **rec}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    libs = {slug(r["library"]) for r in corpus.records}
    print(f"{len(corpus.records)} messages from {len(libs)} libraries and tools -> {args.out}", file=sys.stderr)
    for s in corpus.skipped:
        print(f"skipped: {s}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
