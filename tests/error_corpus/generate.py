"""Provoke real errors from many libraries and tools on loopback and write the labelled corpus (JSONL)."""

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

# Provoker modules in run order; each has run(corpus).
MODULES = [
    "provoke.http_clients",
    "provoke.tls",
    "provoke.cli_tools",
    "provoke.rpc",
    "provoke.cloud",
    "provoke.cache_broker",
    "provoke.databases",
    "provoke.async_rt",
    "provoke.llm",
    "provoke.remote",
    "provoke.schema",
    "provoke.retry",
    "provoke.oserr",
    "provoke.data",
    "provoke.ws",
    "provoke.langs",
    "provoke.netns",
]


def slug(library: str) -> str:
    """The library part of an id: its first word, lower case."""
    return re.sub(r"[^a-z0-9]+", "-", library.split(" ")[0].lower()).strip("-")


def stats(path: str) -> str:
    """Markdown tables of counts per family, per meaning and per library for a corpus file."""
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
    ap.add_argument("--only", nargs="*", help="run only these provoker modules (e.g. provoke.rpc)")
    ap.add_argument("--stats", action="store_true", help="print the README's count tables for --out and exit")
    args = ap.parse_args(argv)
    if args.stats:
        print(stats(args.out))
        return 0
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
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
    counters: dict = collections.Counter()
    with open(args.out, "w", encoding="utf-8") as f:
        for rec in corpus.records:
            key = (rec["family"], slug(rec["library"]))
            counters[key] += 1
            row = {"id": f"{key[0]}-{key[1]}-{counters[key]}", **rec}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    libs = {r["library"].split(" ")[0] for r in corpus.records}
    print(f"{len(corpus.records)} messages from {len(libs)} libraries and tools -> {args.out}", file=sys.stderr)
    for s in corpus.skipped:
        print(f"skipped: {s}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
