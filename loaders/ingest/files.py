"""`failcat ingest FILE.jsonl`: stream a JSONL file through the pipeline with line-numbered errors."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from sqlalchemy.engine import Engine
from tqdm import tqdm

from loaders.ingest.events import EventError, FailureEvent, parse_jsonl_line
from loaders.ingest.pipeline import IngestPipeline, IngestReport


def _checked_lines(fh: IO[str]) -> Iterator[FailureEvent | list[EventError]]:
    for lineno, line in enumerate(fh, start=1):
        parsed = parse_jsonl_line(line, lineno)
        if parsed is not None:
            yield parsed


def ingest_jsonl(
    engine: Engine,
    path: Path | None,
    *,
    replay_only: bool = False,
    progress: bool = False,
    pipeline: IngestPipeline | None = None,
) -> IngestReport:
    """Ingest a JSONL file ('-' = stdin), or only replay the spool; returns the combined report."""
    pipeline = pipeline or IngestPipeline(engine)
    if replay_only or path is None:
        pipeline.ensure_enabled()
        return pipeline.replay_spool()
    if str(path) == "-":
        return pipeline.ingest_checked(_checked_lines(sys.stdin))
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    size = path.stat().st_size
    with path.open(encoding="utf-8", errors="replace") as fh:
        # Progress is by bytes read, so a large file shows a real ETA without counting lines first.
        bar = tqdm(total=size, unit="B", unit_scale=True, desc="ingest", disable=not progress or size < 1_000_000,
                   file=sys.stderr)
        last = 0

        def advance() -> None:
            nonlocal last
            buffer = getattr(fh, "buffer", None)
            pos = buffer.tell() if buffer is not None else 0
            if pos - last > 65536:
                bar.update(pos - last)
                last = pos

        try:
            return pipeline.ingest_checked(_checked_lines(fh), on_item=advance)
        finally:
            bar.update(max(0, size - last))
            bar.close()
