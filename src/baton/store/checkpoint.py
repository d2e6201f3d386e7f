"""Background WAL checkpoints for a SQLite store.

In WAL mode SQLite copies the log back into the database file ("checkpoint") from inside
whichever commit crosses ``wal_autocheckpoint`` pages, and that commit then waits for two
fsyncs: 5-150 ms on ordinary disks, on the engine's event loop. A daemon thread runs
``PRAGMA wal_checkpoint(PASSIVE)`` instead, after every ``every_commits`` commits or
``interval`` seconds with writes; PASSIVE never blocks writers or readers, and the sqlite3
module releases the GIL while it works. The connections' own ``wal_autocheckpoint`` stays
on as a backstop (see :mod:`baton.store.engine`).
"""

from __future__ import annotations

import sqlite3
import threading


class WalCheckpointer:
    """Checkpoints one SQLite database file from a daemon thread."""

    def __init__(self, path: str, *, every_commits: int = 100, interval: float = 1.0) -> None:
        self.path = path
        self.every_commits = every_commits
        self.interval = interval
        self.checkpoints = 0
        self._pending = 0
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="baton-wal-checkpoint", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        """Note one write transaction; wakes the thread when enough have accumulated."""
        self._pending += 1
        if self._pending >= self.every_commits:
            self._wake.set()

    def close(self) -> None:
        """Stop the thread (after a last checkpoint if anything was written)."""
        self._stop = True
        self._wake.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=1.0, isolation_level=None, check_same_thread=False)
        try:
            while True:
                self._wake.wait(self.interval)
                self._wake.clear()
                if self._pending:
                    self._pending = 0
                    try:
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                        self.checkpoints += 1
                    except sqlite3.Error:
                        pass  # another process holds the checkpoint lock; try next round
                if self._stop:
                    break
        finally:
            conn.close()
