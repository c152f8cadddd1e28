"""Read and validate the shipped catalog YAML and upsert it into `catalog_entries`."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.engine import Engine

from core.schema import catalog_entries
from core.settings import ROOT
from core.types import utcnow
from core.vocabulary import RECOVERY_MODES, SEVERITY_RANK

DEFAULT_CATALOG = ROOT / "catalog" / "failure_catalog.yaml"

CODE_RE = re.compile(r"^[A-Z][A-Z0-9_]{1,127}$")
CATEGORY_RE = re.compile(r"^[A-Z][A-Z0-9_]{1,63}$")
MAX_TEXT = 2000  # a description or one recovery suggestion
MAX_ITEMS = 50  # patterns, keywords or suggestions of one entry


class CatalogError(ValueError):
    """The catalog file is malformed; the message names the entry and the field."""


@dataclass(frozen=True)
class CatalogEntry:
    """One known failure pattern as shipped in the catalog file or stored in the database."""

    code: str
    category: str
    severity: str
    message: str
    recovery_mode: str
    patterns: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    is_retryable: bool = False
    recovery_suggestions: tuple[str, ...] = ()
    http_status: int | None = None
    created_by: str = "catalog"
    enabled: bool = True
    id: int | None = field(default=None, compare=False)

    def as_row(self) -> dict[str, Any]:
        """Column values for `catalog_entries`."""
        return {
            "code": self.code,
            "category": self.category,
            "severity": self.severity,
            "message": self.message,
            "patterns": list(self.patterns),
            "keywords": list(self.keywords),
            "is_retryable": self.is_retryable,
            "recovery_mode": self.recovery_mode,
            "recovery_suggestions": list(self.recovery_suggestions),
            "http_status": self.http_status,
            "created_by": self.created_by,
            "enabled": self.enabled,
        }


def validate_entry(raw: dict[str, Any], *, where: str = "entry") -> CatalogEntry:
    """Check one raw mapping and return it as a CatalogEntry, or raise CatalogError."""
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: expected a mapping")
    code = str(raw.get("code", "")).strip()
    if not CODE_RE.match(code):
        raise CatalogError(f"{where}: code {code!r} must be UPPER_SNAKE_CASE")
    where = f"{where} ({code})"
    for key in ("category", "severity", "message", "recovery_mode"):
        if not str(raw.get(key) or "").strip():
            raise CatalogError(f"{where}: missing {key}")
    severity = str(raw["severity"]).lower()
    if severity not in SEVERITY_RANK:
        raise CatalogError(f"{where}: severity {severity!r} not one of {', '.join(SEVERITY_RANK)}")
    mode = str(raw["recovery_mode"]).upper()
    if mode not in RECOVERY_MODES:
        raise CatalogError(f"{where}: recovery_mode {mode!r} not one of {', '.join(RECOVERY_MODES)}")
    category = str(raw["category"]).strip().upper()
    if not CATEGORY_RE.match(category):
        raise CatalogError(f"{where}: category {category[:80]!r} must be UPPER_SNAKE_CASE (at most 64 characters)")
    message = str(raw["message"]).strip()
    suggestions = tuple(str(s).strip() for s in raw.get("recovery_suggestions") or ())
    patterns = tuple(str(p) for p in raw.get("patterns") or ())
    keywords = tuple(str(k).lower() for k in raw.get("keywords") or ())
    for name, items in (("patterns", patterns), ("keywords", keywords), ("recovery_suggestions", suggestions)):
        if len(items) > MAX_ITEMS:
            raise CatalogError(f"{where}: more than {MAX_ITEMS} {name}")
    if len(message) > MAX_TEXT or any(len(t) > MAX_TEXT for t in (*suggestions, *patterns, *keywords)):
        raise CatalogError(f"{where}: a text is longer than {MAX_TEXT} characters")
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise CatalogError(f"{where}: bad pattern {pattern!r}: {exc}") from exc
    http_status = raw.get("http_status")
    return CatalogEntry(
        code=code,
        category=category,
        severity=severity,
        message=message,
        recovery_mode=mode,
        patterns=patterns,
        keywords=keywords,
        is_retryable=bool(raw.get("is_retryable", False)),
        recovery_suggestions=suggestions,
        http_status=int(http_status) if http_status is not None else None,
        created_by=str(raw.get("created_by") or "catalog"),
        enabled=bool(raw.get("enabled", True)),
    )


def read_catalog_file(path: Path | None = None) -> tuple[str, list[CatalogEntry]]:
    """Parse the catalog YAML; return its version and validated entries (codes unique)."""
    path = path or DEFAULT_CATALOG
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CatalogError(f"catalog file not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise CatalogError(f"catalog file {path} is not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("entries"), list):
        raise CatalogError(f"catalog file {path}: expected a mapping with an 'entries' list")
    entries = [validate_entry(raw, where=f"entry {i + 1}") for i, raw in enumerate(doc["entries"])]
    seen: set[str] = set()
    for entry in entries:
        if entry.code in seen:
            raise CatalogError(f"catalog file {path}: duplicate code {entry.code}")
        seen.add(entry.code)
    return str(doc.get("version", "unversioned")), entries


def load_catalog_into_db(engine: Engine, path: Path | None = None) -> dict[str, int]:
    """Upsert the file's entries by code; entries added in the database (promoted) are kept."""
    _version, entries = read_catalog_file(path)
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    now = utcnow()
    with engine.begin() as conn:
        current = {row.code: row for row in conn.execute(select(catalog_entries))}
        for entry in entries:
            row = entry.as_row()
            old = current.get(entry.code)
            if old is None:
                conn.execute(catalog_entries.insert().values(**row, created_at=now))
                counts["inserted"] += 1
            elif any(getattr(old, k) != v for k, v in row.items()):
                conn.execute(
                    catalog_entries.update().where(catalog_entries.c.code == entry.code).values(**row)
                )
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
    return counts
