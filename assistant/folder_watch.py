"""New photos in watched folders (watchdog).

A file is handed on only once it has stopped growing for `settle_seconds`, and
only once per (path, size, modification time): the created/modified/closed
events a single copy produces count as one photo. Hidden and temporary files
are ignored. `on_file` may block; that is the back-pressure that keeps a burst
of thousands of files from piling up in memory (only paths wait here).

Watching starts before the model is ready, and on start the folders are scanned for
photos saved since Iris last ran (catch_up_since); those are handed on as
"catch-up" unless already_handled says they were described before."""
import os
import threading
import time
from pathlib import Path
from typing import Callable

from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer

from assistant.bounded import BoundedSet
from assistant.images import is_candidate
from assistant.problems import Problem

HANDED_KEPT = 10_000    # (path, size, mtime) keys remembered: enough to merge one copy's events, bounded


def unlistable(folder: Path, recursive: bool) -> list[tuple[Path, str]]:
    """(folder, why) for the folder, or any folder below it when recursive, that we may not list.

    inotify needs read permission, and watchdog silently skips a folder it may not
    watch, so without this check photos saved there would be missed without a word."""
    found: list[tuple[Path, str]] = []

    def note(e: OSError) -> None:
        found.append((Path(e.filename), (e.strerror or str(e)).lower()))

    if recursive:
        for _ in os.walk(folder, onerror=note):
            pass
    else:
        try:
            with os.scandir(folder):
                pass
        except OSError as e:
            note(e)
    return found


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: "FolderWatcher"):
        self.w = watcher

    def on_any_event(self, event):
        if event.is_directory or event.event_type in ("opened", "closed_no_write"):
            return
        if event.event_type == "moved":
            self.w.forget(Path(event.src_path))
            self.w.noticed(Path(event.dest_path))
        elif event.event_type == "deleted":
            self.w.vanished(Path(event.src_path))
        else:                                   # created, modified, closed
            self.w.noticed(Path(event.src_path))


class FolderWatcher:
    def __init__(self, folders: list[Path], recursive: bool, settle_seconds: float,
                 on_file: Callable[[Path, str], None], catch_up_since: float | None = None,
                 already_handled: Callable[[Path, int], bool] = lambda path, mtime_ns: False):
        """on_file(path, source): source is "folder", or "catch-up" for a photo saved while Iris was off."""
        self.folders = [Path(f).expanduser() for f in folders]
        self.recursive, self.settle = recursive, settle_seconds
        self.on_file = on_file
        self.catch_up_since, self.already_handled = catch_up_since, already_handled
        self.paused = threading.Event()
        self._pending: dict[Path, tuple] = {}     # path -> (size, mtime_ns, stable since)
        self._handed = BoundedSet(HANDED_KEPT)    # (path, size, mtime_ns) already passed on
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._observer = Observer()
        self._settler = threading.Thread(target=self._settle_loop, name="iris-settle", daemon=True)

    def start(self) -> list[Problem]:
        """Start watching; returns one problem per folder that cannot be watched."""
        problems, self._watched = [], []
        for folder in self.folders:
            if not folder.is_dir():
                problems.append(Problem(f"The folder {folder.name} does not exist, so it is not watched.", str(folder)))
                continue
            blocked = unlistable(folder, self.recursive)
            if blocked and blocked[0][0] == folder:
                problems.append(Problem(f"Iris may not read the folder {folder.name}, so it is not watched.",
                                        f"cannot watch {folder}: {blocked[0][1]}"))
                continue
            problems += [Problem(f"Iris may not read the folder {sub.name}; photos saved there are not described.",
                                 f"cannot look inside {sub} ({why})") for sub, why in blocked]
            try:
                self._observer.schedule(_Handler(self), str(folder), recursive=self.recursive)
                self._watched.append(folder)
            except OSError as e:
                problems.append(Problem(f"The folder {folder.name} cannot be watched.",
                                        f"cannot watch {folder}: {e.strerror or e}"))
        if self._watched:
            try:
                self._observer.start()
            except OSError as e:       # e.g. permission denied on a sub-folder, inotify limits
                problems.append(Problem("Folders cannot be watched on this system.", f"{e.strerror or e}"))
                return problems
        self._settler.start()
        return problems

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._observer.is_alive():
            self._observer.stop()
            self._observer.join(timeout=5)
        if self._settler.is_alive():
            self._settler.join(timeout=5)

    @property
    def busy(self) -> bool:
        """Files noticed but not yet handed on (still being written, or settling)."""
        with self._lock:
            return bool(self._pending)

    # --- from watchdog's thread -----------------------------------------------
    def noticed(self, path: Path) -> None:
        if self.paused.is_set() or not is_candidate(path):
            return
        with self._lock:
            self._pending[path] = (-1, -1, time.monotonic())
        self._wake.set()

    def forget(self, path: Path) -> None:
        with self._lock:
            self._pending.pop(path, None)

    def vanished(self, path: Path) -> None:
        # Deleted before we read it: hand it on now, so the failure is reported and recorded once.
        with self._lock:
            was_pending = self._pending.pop(path, None) is not None
        if was_pending:
            self.on_file(path, "folder")

    # --- the settle thread ----------------------------------------------------
    def _catch_up(self) -> None:
        """Hand on, oldest first, the photos saved into the watched folders since catch_up_since."""
        found = []
        for folder in self._watched:
            for path in (folder.rglob("*") if self.recursive else folder.glob("*")):
                try:
                    st = path.stat()
                except OSError:
                    continue
                # ctime too: a photo moved in keeps its old modification time
                if is_candidate(path) and path.is_file() and max(st.st_mtime, st.st_ctime) > self.catch_up_since:
                    found.append((st.st_mtime_ns, path, st.st_size))
        for mtime_ns, path, size in sorted(found):
            if self._stop.is_set():
                return
            key = (path, size, mtime_ns)
            if key in self._handed or self.already_handled(path, mtime_ns):
                continue
            self._handed.add(key)
            self.on_file(path, "catch-up")

    def _settle_loop(self) -> None:
        if self.catch_up_since is not None:
            self._catch_up()
        while not self._stop.is_set():
            if not self.busy:
                self._wake.wait()
                self._wake.clear()
                continue
            time.sleep(min(0.2, self.settle / 2))
            now = time.monotonic()
            with self._lock:
                items = list(self._pending.items())
            for path, (size, mtime, since) in items:
                if self._stop.is_set():
                    return
                try:
                    st = path.stat()
                    current = (st.st_size, st.st_mtime_ns)
                except OSError:
                    current = None       # gone or unreadable: hand on, the worker says why
                if current is not None and current != (size, mtime):
                    with self._lock:
                        if path in self._pending:
                            self._pending[path] = (*current, now)
                    continue
                if current is not None and now - since < self.settle:
                    continue
                with self._lock:
                    self._pending.pop(path, None)
                key = (path, *(current or (None, None)))
                if key in self._handed:
                    continue
                self._handed.add(key)
                self.on_file(path, "folder")     # may block while the worker's queue is full
