"""A whole export: executions (steps, logs, usage, artefact index), configuration versions
and their audit trail, as one versioned JSON document, and its idempotent import.

::

    {"format": "baton.export", "format_version": 1, "exported_at": "...",
     "executions": [<baton.execution document + "usage" + "artifacts">, ...],
     "config_versions": [<baton.config_version document>, ...],
     "config_audit": [{"version", "actor", "at", "action", "diff"}, ...]}

The artefact index lists each file under the execution's artifacts directory (path,
bytes, sha256); the files themselves stay where they are.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from baton.store.errors import StoreError
from baton.store.export import FORMAT_VERSION
from baton.store.sql import SqlStore

BUNDLE_FORMAT = "baton.export"


@dataclass(slots=True)
class ImportReport:
    """What an import added and what it found already there."""

    executions_added: int = 0
    executions_present: int = 0
    config_versions_added: int = 0
    audit_rows_added: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"executions_added": self.executions_added,
                "executions_present": self.executions_present,
                "config_versions_added": self.config_versions_added,
                "audit_rows_added": self.audit_rows_added}


def artifact_index(folder: Path) -> list[dict[str, Any]]:
    """Every file under an execution's artifacts directory: path, bytes, sha256."""
    if not folder.is_dir():
        return []
    index = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        index.append({"path": path.relative_to(folder).as_posix(), "bytes": path.stat().st_size,
                      "sha256": digest.hexdigest()})
    return index


def export_bundle(
    store: SqlStore, execution_ids: list[str], artifacts_root: Path | None = None
) -> dict[str, Any]:
    """The export document of ``execution_ids`` plus every configuration version and audit row."""
    executions = []
    for eid in execution_ids:
        document = store.export_execution(eid)
        document["artifacts"] = artifact_index(artifacts_root / eid) if artifacts_root else []
        executions.append(document)
    return {
        "format": BUNDLE_FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": datetime.now(UTC).isoformat(),
        "executions": executions,
        "config_versions": store.export_config_versions(),
        "config_audit": store.export_config_audit(),
    }


def import_bundle(store: SqlStore, data: Any) -> ImportReport:
    """Load an export into ``store``; what is already there (same ids) is left as it is, so
    importing the same file twice changes nothing."""
    if not isinstance(data, dict) or data.get("format") != BUNDLE_FORMAT:
        raise StoreError(f'not a Baton export (missing "format": "{BUNDLE_FORMAT}"); '
                         "write one with `baton export`")
    if data.get("format_version") != FORMAT_VERSION:
        raise StoreError(f"export has format_version {data.get('format_version')!r}; this Baton reads "
                         f"version {FORMAT_VERSION}, upgrade Baton to import it")
    report = ImportReport()
    report.config_versions_added = store.import_config_versions(list(data.get("config_versions") or []))
    report.audit_rows_added = store.import_config_audit(list(data.get("config_audit") or []))
    for document in data.get("executions") or []:
        eid = str((document.get("execution") or {}).get("id") or "") if isinstance(document, dict) else ""
        if eid and store.get_execution(eid) is not None:
            report.executions_present += 1
            continue
        store.import_execution(document)
        report.executions_added += 1
    return report
