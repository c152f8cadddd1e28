"""A local spool: events that could not reach the database wait here as JSONL files until replayed."""
from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from core.types import utcnow


class Spool:
    """Directory of spooled batches; each file is written atomically and claimed by rename."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def write(self, rows: list[dict]) -> Path:
        """Write one batch of already-validated events (with their ids) durably; return the file."""
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"spool-{utcnow():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.jsonl"
        tmp = self.directory / (name + ".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, default=str) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        final = self.directory / name
        os.replace(tmp, final)
        return final

    def pending_files(self) -> list[Path]:
        """Spooled batches waiting for replay, oldest first."""
        if not self.directory.exists():
            return []
        return sorted(self.directory.glob("spool-*.jsonl"))

    def pending_events(self) -> int:
        """How many events wait in the spool."""
        total = 0
        for path in self.pending_files():
            with path.open(encoding="utf-8") as fh:
                total += sum(1 for line in fh if line.strip())
        return total

    def claim(self) -> Iterator[tuple[Path, list[dict]]]:
        """Yield (claimed file, events) for each batch this process wins; others are skipped."""
        for path in self.pending_files():
            claimed = path.with_suffix(f".replaying-{os.getpid()}")
            try:
                os.rename(path, claimed)  # atomic: only one replayer wins a file
            except FileNotFoundError:
                continue
            with claimed.open(encoding="utf-8") as fh:
                events = [json.loads(line) for line in fh if line.strip()]
            yield claimed, events

    @staticmethod
    def done(claimed: Path) -> None:
        """Remove a batch after its events are stored."""
        claimed.unlink(missing_ok=True)

    @staticmethod
    def release(claimed: Path) -> None:
        """Put a claimed batch back for a later replay."""
        os.rename(claimed, claimed.with_suffix(".jsonl"))

    def recover_stale(self) -> int:
        """Return batches claimed by processes that no longer run to the queue; count them."""
        if not self.directory.exists():
            return 0
        recovered = 0
        for path in self.directory.glob("spool-*.replaying-*"):
            pid = int(path.suffix.rsplit("-", 1)[-1] or 0)
            if pid != os.getpid() and not _alive(pid):
                self.release(path)
                recovered += 1
        return recovered


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
