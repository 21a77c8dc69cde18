"""Slurm's job-completion log (``JobCompType=jobcomp/filetxt``), read incrementally.

slurmctld appends one line per finished job to ``JobCompLoc``. The Slurm backend reads it only
for jobs that squeue no longer lists (their records are purged ``MinJobAge`` seconds after the
end, or slurmctld restarted) and that accounting (``sacct``) cannot answer for, usually because
there is no slurmdbd. Reading starts at the end of the file as it was when the distributor
started (older jobs are not ours) and goes on from where the last read stopped; a file that
shrank (rotated) is read again from its start.
"""

from __future__ import annotations

import logging
from pathlib import Path

from actors.distributor.backend import DistributorId
from actors.distributor.slurm.errors import SlurmOutputError
from actors.distributor.slurm.parse import JobRecord, parse_record_line

__all__ = ["CompletionLog"]

log = logging.getLogger(__name__)


class CompletionLog:
    """Final job records appended to ``path`` since this object was made."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._offset = path.stat().st_size
        except OSError:
            self._offset = 0
        self._partial = b""

    def read_new(self) -> dict[DistributorId, JobRecord]:
        """Records of the array tasks whose lines were appended since the last read."""
        try:
            with open(self.path, "rb") as handle:
                handle.seek(0, 2)
                size = handle.tell()
                if size < self._offset:
                    self._offset, self._partial = 0, b""
                handle.seek(self._offset)
                data = handle.read()
        except OSError as exc:
            log.warning("cannot read the job-completion log %s: %s", self.path, exc)
            return {}
        self._offset += len(data)
        data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()  # an unfinished last line waits for the next read
        records: dict[DistributorId, JobRecord] = {}
        for raw in lines:
            line = raw.decode("utf-8", errors="replace").strip()
            if not line:
                continue
            try:
                record = parse_record_line(line, f"job-completion log {self.path}")
            except SlurmOutputError as exc:
                log.warning("%s", exc)
                continue
            if record is not None:
                records[record.did] = record
        return records
