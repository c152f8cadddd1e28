"""DNS failures and unreachable hosts, provoked in a private network namespace (no traffic leaves the machine)."""

from __future__ import annotations

import json
import os
import sys

from .common import Corpus
from .common import run as sh


def run(c: Corpus):
    child = os.path.join(os.path.dirname(__file__), "netns_child.py")
    res = sh(["unshare", "-m", "-n", sys.executable, child], timeout=400)
    if res.rc != 0 or not res.stdout.strip():
        c.skipped.append(f"netns child failed (rc {res.rc}): {res.stderr[-1500:]}")
        return
    out = json.loads(res.stdout.strip().splitlines()[-1])
    for r in out["records"]:
        c.add(r["library"], r["family"], r["provoked"] + " (private network namespace)", r["message"], r["meaning"],
              r.get("accept"))
    c.skipped.extend(f"netns: {s}" for s in out["skipped"])
