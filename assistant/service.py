"""The background assistant: builds its parts, starts them in order, runs actions,
and stops the parts in reverse order.

    sources (hotkeys -> screenshot, clipboard, folders) --Request--> Worker (assistant/seeing.py decides
    what each image is) --Described/Blank/ScreenRead/Failed--> History (record) and Narrator
    Narrator --Utterance--> printed log and Speaker (driver: player, WAV files or silent)

Every part has start() -> problems and stop(). Problems are reported one way: a
printed line with the detail, and a short sentence said once with "Iris is ready".
Hotkeys and tray items only enqueue an action; actions run here, on the service's
own thread, never on a listener's."""
import gc
import queue
import signal
import threading
import time
from pathlib import Path
from typing import Callable

from assistant.actions import NAMES
from assistant.events import Request
from assistant.narrator import Narration, Narrator, Utterance
from assistant.problems import Problem, one_line
from assistant.speech import Speaker
from assistant.worker import Worker
from config import data_dir
from config.settings import Settings

CATCH_UP_KEY = "folders_watched_since"   # history state: when the last run began watching
SIGNAL_CHECK_SECONDS = 0.5              # how soon a signal that another thread received is acted on


def _log(message: str) -> None:
    print(message, flush=True)


def spoken_keys(combo: str) -> str:
    """'<ctrl>+<alt>+d' -> 'Control Alt D', for speech."""
    names = {"ctrl": "Control", "alt": "Alt", "shift": "Shift", "cmd": "Command"}
    return " ".join(names.get(p.strip("<>"), p.strip("<>").upper()) for p in combo.split("+"))


class Service:
    def __init__(self, settings: Settings, captioner_factory: Callable, log: Callable[[str], None] = _log):
        self.settings, self.log, self.factory = settings, log, captioner_factory
        self.actions: queue.Queue = queue.Queue()
        self.paused = False
        self.speech_on = settings.speech.enabled
        self.parts: list = []                  # started, in order
        self.history = self.speaker = self.narrator = self.worker = None
        self.folders = self.clipboard = self.hotkeys = self.tray = self.screenshots = self.windows = None
        self.listeners: list[Callable[[Utterance], None]] = []   # besides speech: benchmarks time utterances
        self.handlers = {"describe_screen": self.describe_screen, "read_text": self.read_text,
                         "repeat_last": self.repeat_last,
                         "stop_speaking": self.stop_speaking, "pause_watching": self.toggle_pause,
                         "toggle_speech": self.toggle_speech, "open_settings": self.open_settings,
                         "quit": self.quit}
        assert set(self.handlers) == set(NAMES), "every action in the table has a handler"
        self._quit = False
        self._lost_lock, self._display_gone = threading.Lock(), False   # see _display_lost

    # --- from any thread ------------------------------------------------------------
    def request(self, action: str) -> None:
        """Run an action on the service's thread (hotkeys, tray, signals call this)."""
        self.actions.put(action)

    # --- actions (on the service's thread) --------------------------------------------
    def describe_screen(self, read_all: bool = False) -> None:
        """The active window's title at once, then (from the worker) its text and the photos on it."""
        from assistant.screen import ScreenUnavailable, save, window_part
        self.speaker.stop_speaking()      # a new request cuts off the old description
        s = self.settings.screen
        window = self.windows.get()
        if window and not read_all:
            self.narrator.tell(lambda n: n.window_title(window))
        try:
            image, origin = self.screenshots.grab(s.monitor)
        except ScreenUnavailable as e:
            self.log(f"Iris: {e}")
            self.narrator.tell(lambda n: n.status("Sorry, Iris cannot take a screenshot here."))
            return
        if s.save_screenshots:
            folder = Path(s.screenshot_dir or data_dir() / "screenshots").expanduser()
            self.log(f"Screenshot saved to {save(image, folder)}")
        if s.area == "window" and window and (part := window_part(image, origin, window.box)):
            image = part
        self.worker.submit(Request("screen", image, window=window, read_all=read_all))

    def read_text(self) -> None:
        self.describe_screen(read_all=True)

    def repeat_last(self) -> None:
        self.narrator.tell(Narration.repeat)

    def stop_speaking(self) -> None:
        self.speaker.stop_speaking()

    def toggle_pause(self) -> None:
        self.paused = not self.paused
        for source in (self.clipboard, self.folders):
            if source:
                (source.paused.set if self.paused else source.paused.clear)()
        if self.tray:
            self.tray.refresh()
        self.narrator.tell(lambda n: n.status("Watching paused." if self.paused else "Watching resumed."))

    def toggle_speech(self) -> None:
        self.speech_on = not self.speech_on
        if self.speech_on:
            self.speaker.unmute()
            self.narrator.tell(lambda n: n.status("Speech on."))
        else:
            self.narrator.tell(lambda n: n.status("Speech off.", mute_after=True))
        if self.tray:
            self.tray.refresh()

    def open_settings(self) -> None:
        from assistant.settings_file import open_settings_file
        opened, path = open_settings_file()
        self.narrator.tell(lambda n: n.status("Settings file opened." if opened else
                                              f"Could not open an editor. The settings file is {path}"))

    def quit(self) -> None:
        self._quit = True

    # --- where utterances go --------------------------------------------------------------
    def _utter(self, u: Utterance) -> None:
        self.log(f"Iris says: {u.text}")
        self.speaker.say(u.text, interrupt=u.interrupt, mute_after=u.mute_after)
        for listen in self.listeners:
            listen(u)

    def _report(self, problem: Problem) -> None:
        self.log(problem.printed())

    def _display_lost(self, error: Exception) -> None:
        """The X server went away under the running parts (a logout, a crash); each part that notices calls
        this from its own thread, and the listener hears it once."""
        with self._lost_lock:
            if self._display_gone:
                return
            self._display_gone = True
        still = "; watched folders are still described." if self.folders else "."
        problem = Problem("The display closed, so keyboard shortcuts and copied images no longer work" + still,
                          one_line(error))
        self._report(problem)
        self.narrator.tell(lambda n: n.status(problem.said))

    # --- life cycle ---------------------------------------------------------------------
    def _start(self, part) -> list[Problem]:
        problems = part.start()
        self.parts.append(part)
        for p in problems:
            self._report(p)
        return problems

    def _build_and_start(self) -> tuple[list[Problem], str | None]:
        """Start every part in order; returns (problems, why the model cannot load or None)."""
        s, problems = self.settings, []
        if s.history.enabled:
            from assistant.history import History
            self.history = History()
            problems += self._start(self.history)
        self.speaker = Speaker(s.speech, report=self._report)
        problems += self._start(self.speaker)
        self.narrator = Narrator(Narration(s.folders.burst_seconds), self._utter, self.log,
                                 hold=lambda: bool(self.worker.has_backlog or (self.folders and self.folders.busy)))
        problems += self._start(self.narrator)
        narration = self.narrator.narration
        keep_text = s.history.keep_screen_text
        emit = ([lambda r: self.history.record(r, narration.history_words(r, keep_text))] if self.history else []) \
            + [self.narrator.hear]
        if s.folders.write_sidecar:
            from assistant.sidecar import SidecarWriter
            emit.append(SidecarWriter(narration.words, self.log))
        self.worker = Worker(self.factory, lambda result: [listen(result) for listen in emit], cache=self.history,
                             on_ready=lambda captioner: narration.calibrate(captioner.calibration, s.model.hedge_below))
        problems += self._start(self.worker)          # the model loads in the background from here
        if s.folders.watch:                           # watching begins before the model is ready
            from assistant.folder_watch import FolderWatcher
            since = None
            if self.history:
                stamp = self.history.get_state(CATCH_UP_KEY)
                since = float(stamp) if stamp else None
                if since is None:      # the first run: nothing to catch up on, from now on there is
                    self.history.set_state(CATCH_UP_KEY, repr(self._began))
            self.folders = FolderWatcher(s.folders.paths, s.folders.recursive, s.folders.settle_seconds,
                                         lambda path, source: self.worker.submit(Request(source, path=path)),
                                         catch_up_since=since,
                                         already_handled=self.history.handled if self.history else lambda p, m: False)
            problems += self._start(self.folders)
            self.log(f"Watching {len(s.folders.watch)} folder(s) for new photos.")
        failed = self.worker.wait_ready()
        if failed:
            return problems, failed
        if s.clipboard.enabled:
            from assistant.clipboard import ClipboardWatcher
            self.clipboard = ClipboardWatcher(lambda image, digest: self.worker.submit(Request("clipboard", image,
                                                                                            digest=digest)),
                                              s.clipboard.poll_seconds, self.log, on_lost=self._display_lost)
            problems += self._start(self.clipboard)
        if s.web.start_with_assistant:
            from assistant.ocr import Ocr
            from assistant.web.describer import Describer
            from assistant.web.server import WebServer
            describer = Describer(self.worker.captioner, self.narrator.narration, Ocr)
            problems += self._start(WebServer(describer.describe, self.history, s.web.port, s.web.open_browser,
                                              self.log))
        from assistant.hotkeys import Hotkeys
        from assistant.screen import Screenshots
        from assistant.tray import Tray
        from assistant.window import FocusedWindow
        # Before the controls that ask for screenshots and titles; stopped after them.
        self.screenshots, self.windows = Screenshots(), FocusedWindow()
        self._start(self.screenshots)
        self._start(self.windows)
        self.hotkeys = Hotkeys({s.hotkeys[name]: (lambda name=name: self.request(name)) for name in NAMES},
                               on_lost=self._display_lost)
        self.tray = Tray(self.request, lambda: self.paused, lambda: self.speech_on, self.log)
        controls = self._start(self.hotkeys) + self._start(self.tray)
        if not self.hotkeys.working and not self.tray.working:
            controls = [Problem("Neither keyboard shortcuts nor a tray icon work here; copied images and "
                                "watched folders are still described.")]
        return problems + controls, None

    def run(self) -> int:
        if threading.current_thread() is threading.main_thread():     # signals reach the main thread only
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.request("quit"))
        self._began = time.time()
        self.log("Iris is starting: loading the captioning model...")
        problems, failed = self._build_and_start()
        if failed:
            self.log(f"Iris cannot start: {failed}")
            self._stop_all()
            return 2
        # The model, the libraries and every part are loaded now and live as long as Iris: the garbage
        # collector's full passes need not scan them again, as such a pass can fall on a key press's path.
        gc.freeze()
        keys = spoken_keys(self.settings.hotkeys["describe_screen"]) if self.hotkeys.working else None
        self.narrator.tell(lambda n: n.ready(problems, keys, self.tray.working))
        while not self._quit:
            try:
                # A wait with no timeout can outlast a SIGTERM: the kernel may hand the signal to another of
                # Iris's threads, and Python runs its handler only once the main thread wakes.
                name = self.actions.get(timeout=SIGNAL_CHECK_SECONDS)
            except queue.Empty:
                continue
            try:
                self.handlers[name]()
            except Exception as e:   # noqa: BLE001 - one failed action must not end the assistant
                self.log(f"Iris: the action {name} failed ({type(e).__name__}: {e})")
                self.narrator.tell(lambda n: n.status("Sorry, that did not work."))
        self.log("Iris is stopping.")
        if self.history and self.folders:
            # Next start catches up on photos saved since this run began; those already described are skipped.
            self.history.set_state(CATCH_UP_KEY, repr(self._began))
        self._stop_all()
        return 0

    def _stop_all(self) -> None:
        """Stop the parts in reverse order: sources first, so nothing new arrives while the rest ends."""
        for part in reversed(self.parts):
            try:
                part.stop()
            except Exception as e:   # noqa: BLE001 - one part that fails to stop must not keep the rest running
                self.log(f"Iris: {type(part).__name__} did not stop cleanly ({one_line(e)})")
        self.parts.clear()
        self.log("Iris stopped.")
