"""Every caption, and every failure, in a private sqlite database.

It is also the cache: an image whose hash was captioned by the same model is
never captioned again. WAL mode and one transaction per row mean a kill at any
moment leaves the database whole."""
import hashlib
import os
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path

from config import data_dir

SCHEMA = """
CREATE TABLE IF NOT EXISTS captions (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    source TEXT NOT NULL,          -- screen, clipboard, folder, describe
    path TEXT,                     -- file path, when the image came from a file
    image_hash TEXT,
    model TEXT,
    caption TEXT,
    score REAL,                    -- mean log-probability per word
    status TEXT NOT NULL,          -- ok or failed
    error TEXT
);
CREATE INDEX IF NOT EXISTS captions_hash ON captions(image_hash, model);
"""


def default_path() -> Path:
    return data_dir() / "history.sqlite3"


def image_hash(image) -> str:
    """Hash of the decoded pixels, so the same picture matches whatever file or clipboard it came from."""
    h = hashlib.sha256(f"{image.size}{image.mode}".encode())
    h.update(image.tobytes())
    return h.hexdigest()


class History:
    def __init__(self, path: Path | None = None):
        self.path = Path(path or default_path())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.chmod(self.path.parent, 0o700)
        except OSError:
            pass
        old = os.umask(0o077)            # the database is readable by its owner only
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
        finally:
            os.umask(old)
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)

    def cached(self, digest: str, model: str) -> tuple[str, float] | None:
        with self._lock:
            row = self._db.execute("SELECT caption, score FROM captions WHERE image_hash=? AND model=? AND status='ok' "
                                   "ORDER BY id DESC LIMIT 1", (digest, model)).fetchone()
        return (row[0], row[1]) if row else None

    def add(self, source: str, *, path=None, digest=None, model=None, caption=None, score=None,
            error: str | None = None) -> None:
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._lock, self._db:
            self._db.execute("INSERT INTO captions(time, source, path, image_hash, model, caption, score, status, error) "
                             "VALUES (?,?,?,?,?,?,?,?,?)",
                             (now, source, str(path) if path else None, digest, model, caption, score,
                              "failed" if error else "ok", error))

    def recent(self, n: int = 20) -> list[dict]:
        with self._lock:
            cur = self._db.execute("SELECT * FROM captions ORDER BY id DESC LIMIT ?", (n,))
            cols = [c[0] for c in cur.description]
            return [dict(zip(cols, row)) for row in cur.fetchall()]

    def close(self) -> None:
        with self._lock:
            self._db.close()
