"""Markdown tables from the JSON lines of `python -m bench`: `python -m bench.report figures.jsonl`."""
from __future__ import annotations

import json
import sys
from typing import Any


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return ""
    return f"{value:,.{digits}f}"


def tables(lines: list[dict[str, Any]]) -> str:
    """Pages (full vs naive vs small), API latency, other figures."""
    by = {line["name"]: line for line in lines}
    out = ["| page | scope | full size ms | naive ms | speedup (>= 20) | small ms | full / small (<= 1.5) |",
           "|---|---|---:|---:|---:|---:|---:|"]
    for name, line in by.items():
        if not (name.startswith("page.") and name.endswith(".vs_naive")):
            continue
        _, page, scope, _ = name.split(".")
        small = by.get(f"page.{page}.{scope}.vs_small", {})
        out.append(f"| {page} | {scope} ({line.get('tenant')}) | {_fmt(line['value'])} | {_fmt(line['baseline'])} | "
                   f"{_fmt(line.get('speedup'), 1)} | {_fmt(small.get('baseline'))} | {_fmt(small.get('ratio'), 1)} |")
    out += ["", "| endpoint | p50 ms | p95 ms | target p95 | requests |", "|---|---:|---:|---|---:|"]
    for name, line in by.items():
        if name.startswith("api.") and name.endswith(".p95"):
            endpoint = name.split(".")[1]
            p50 = by.get(f"api.{endpoint}.p50", {}).get("value")
            out.append(f"| {endpoint} | {_fmt(p50, 1)} | {_fmt(line['value'], 1)} | {line.get('target', '')} | "
                       f"{line.get('requests', '')} |")
    out += ["", "| figure | value | unit | baseline | ratio |", "|---|---:|---|---:|---:|"]
    for line in lines:  # fill_rows_per_s appears once per database
        name = line["name"] + (f" ({line['rows']:,} rows)" if "rows" in line else "")
        if not name.startswith(("page.", "api.")):
            out.append(f"| {name} | {_fmt(line['value'])} | {line['unit']} | {_fmt(line.get('baseline'))} | "
                       f"{_fmt(line.get('ratio'), 3)} |")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    """Print the tables of one JSON-lines file."""
    with open(argv[0]) as fh:
        lines = [json.loads(raw) for raw in fh if raw.strip().startswith("{")]
    print(tables(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
