"""Every description, and every failure, in a private sqlite database.

It listens to the worker's results (record), answers the worker's cache question
(an image whose pixels the same model already described is not described again),
and remembers which photo files were handled, so that catching up after Iris was
off never describes a photo twice. WAL mode and one transaction per row mean a kill
at any moment leaves the database whole."""
import hashlib
import json
import os
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path

from assistant.events import CaptionWords, Described, Failed, Result
from assistant.problems import Problem
from config import data_dir

SCHEMA = """
CREATE TABLE IF NOT EXISTS captions (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    source TEXT NOT NULL,          -- screen, clipboard, folder, catch-up, file
    path TEXT,                     -- file path, when the image came from a file
    image_hash TEXT,
    model TEXT,                    -- everything that decided the words (Captioner.words_key)
    caption TEXT,
    score REAL,                    -- mean log-probability per word
    status TEXT NOT NULL,          -- ok or failed
    error TEXT                     -- why it failed, without the path
);
CREATE INDEX IF NOT EXISTS captions_hash ON captions(image_hash, model);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT);
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
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(captions)")}
            if "mtime_ns" not in columns:    # a database made before catch-up existed
                self._db.execute("ALTER TABLE captions ADD COLUMN mtime_ns INTEGER")
                self._db.execute("CREATE INDEX IF NOT EXISTS captions_file ON captions(path, mtime_ns)")
            if "concepts" not in columns:    # ... or before grounding: what the classifier saw, as JSON
                self._db.execute("ALTER TABLE captions ADD COLUMN concepts TEXT")
            if "novelty" not in columns:     # ... or before unfamiliar images were told apart
                self._db.execute("ALTER TABLE captions ADD COLUMN novelty REAL")
            if "support" not in columns:     # ... or before the presence probes
                self._db.execute("ALTER TABLE captions ADD COLUMN support REAL")
            if "shorter" not in columns:     # ... or before a withheld caption's supported part, as JSON
                self._db.execute("ALTER TABLE captions ADD COLUMN shorter TEXT")

    # --- a running part ---------------------------------------------------------
    def start(self) -> list[Problem]:
        return []

    def stop(self) -> None:
        with self._lock:
            self._db.close()

    close = stop

    # --- the worker's listener and cache -----------------------------------------
    def record(self, result: Result, words: str | None = None) -> None:
        """A result as it was said (words); a photo's own caption is kept for the cache. No image is kept."""
        if isinstance(result, Described):
            self.add(result.source, path=result.path, digest=result.digest, model=result.model,
                     caption=result.caption, score=result.score, mtime_ns=result.mtime_ns, concepts=result.concepts,
                     novelty=result.novelty, support=result.support,
                     shorter=result.shorter)
        elif isinstance(result, Failed):
            self.add(result.source, path=result.path, error=result.reason, mtime_ns=result.mtime_ns)
        else:       # blank images, screens and pages: what was said (no model caption to cache)
            self.add(result.source, path=result.path, caption=words, mtime_ns=result.mtime_ns)

    def cached(self, digest: str, model: str) -> CaptionWords | None:
        """(caption, score, concepts, novelty, support, shorter) the same model gave the same pixels before, or
        None."""
        with self._lock:
            row = self._db.execute("SELECT caption, score, concepts, novelty, support, shorter FROM captions WHERE "
                                   "image_hash=? AND model=? AND status='ok' ORDER BY id DESC LIMIT 1",
                                   (digest, model)).fetchone()
        if row is None:
            return None
        short = json.loads(row[5]) if row[5] else None
        return CaptionWords(row[0], row[1], tuple(tuple(c) for c in json.loads(row[2] or "[]")), row[3], row[4],
                            tuple(short) if short else None)

    def add(self, source: str, *, path=None, digest=None, model=None, caption=None, score=None,
            error: str | None = None, mtime_ns: int | None = None, concepts=(), novelty=None, support=None,
            shorter=None) -> None:
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._lock, self._db:
            self._db.execute("INSERT INTO captions(time, source, path, image_hash, model, caption, score, status, error, "
                             "mtime_ns, concepts, novelty, support, shorter) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                             (now, source, str(path) if path else None, digest, model, caption, score,
                              "failed" if error else "ok", error, mtime_ns, json.dumps(list(concepts)), novelty,
                              support, json.dumps(list(shorter)) if shorter else None))

    # --- catching up on photos saved while Iris was off ---------------------------------
    def handled(self, path: Path, mtime_ns: int) -> bool:
        """Whether this version of this file was already described (or found unreadable)."""
        with self._lock:
            return self._db.execute("SELECT 1 FROM captions WHERE path=? AND mtime_ns=? LIMIT 1",
                                    (str(path), mtime_ns)).fetchone() is not None

    def get_state(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_state(self, key: str, value: str) -> None:
        with self._lock, self._db:
            self._db.execute("INSERT INTO state(key, value) VALUES (?, ?) "
                             "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value))

    def recent(self, n: int = 20, containing: str = "") -> list[dict]:
        """The newest rows, optionally only those whose description or path contains the words given."""
        like = f"%{containing.strip()}%"
        with self._lock:
            cur = self._db.execute("SELECT * FROM captions WHERE (? = '%%' OR caption LIKE ? OR path LIKE ?) "
                                   "ORDER BY id DESC LIMIT ?", (like, like, like, n))
            cols = [c[0] for c in cur.description]
            return [dict(zip(cols, row)) for row in cur.fetchall()]

    def delete(self, row_id: int) -> bool:
        with self._lock, self._db:
            return self._db.execute("DELETE FROM captions WHERE id = ?", (row_id,)).rowcount == 1

    def clear(self) -> int:
        """Delete every description. The catch-up mark stays: photos saved before Iris last started are not
        described again."""
        with self._lock, self._db:
            return self._db.execute("DELETE FROM captions").rowcount
