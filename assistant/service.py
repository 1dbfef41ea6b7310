"""The background assistant: sources -> one worker -> speech and history.

Every part that cannot work here (no display, no tray, no speech, no clipboard
tool) is reported once, and the rest keeps running."""
import os
import platform
import signal
import subprocess
import threading
from pathlib import Path
from typing import Callable

from assistant.worker import Announcement, Worker
from config import data_dir, user_settings_path


def _log(message: str) -> None:
    print(message, flush=True)


class Service:
    def __init__(self, settings: dict, captioner_factory: Callable, log: Callable[[str], None] = _log):
        self.settings, self.log = settings, log
        self.factory = captioner_factory
        self.stop_event = threading.Event()
        self.paused = threading.Event()
        self.speech_on = settings["speech"]["enabled"]
        self.last_text = ""
        self.speaker = self.history = self.worker = None
        self.hotkeys = self.clipboard = self.folders = self.tray = None
        self.problems: list[str] = []    # what cannot work here, printed at once and spoken with "ready"

    # --- actions (hotkeys, tray) ------------------------------------------------
    def announce(self, a: Announcement) -> None:
        if not a.text:
            return
        self.last_text = a.text
        self.log(f"Iris says: {a.text}")
        if self.speaker and self.speech_on:
            self.speaker.say(a.text, interrupt=a.interrupt)

    def describe_screen(self) -> None:
        from assistant.screen import ScreenUnavailable, grab, save
        if self.speaker:
            self.speaker.stop_speaking()      # a new request cuts off the old description
        try:
            image = grab(self.settings["screen"]["monitor"])
        except ScreenUnavailable as e:
            self.announce(Announcement(f"Sorry, {e}."))
            return
        if self.settings["screen"]["save_screenshots"]:
            folder = Path(self.settings["screen"]["screenshot_dir"] or data_dir() / "screenshots").expanduser()
            self.log(f"Screenshot saved to {save(image, folder)}")
        self.worker.submit_image("screen", image)

    def repeat_last(self) -> None:
        self.announce(Announcement(self.last_text or "Nothing has been described yet."))

    def stop_speaking(self) -> None:
        if self.speaker:
            self.speaker.stop_speaking()

    def toggle_pause(self) -> None:
        for source in (self.clipboard, self.folders):
            if source:
                (source.paused.clear if self.paused.is_set() else source.paused.set)()
        (self.paused.clear if self.paused.is_set() else self.paused.set)()
        if self.tray:
            self.tray.refresh()
        self.announce(Announcement("Watching paused." if self.paused.is_set() else "Watching resumed."))

    def toggle_speech(self) -> None:
        if self.speech_on:
            self.announce(Announcement("Speech off."))
            self.speaker and self.speaker.wait_idle(5)
            self.speech_on = False
        else:
            self.speech_on = True
            self.announce(Announcement("Speech on."))
        if self.tray:
            self.tray.refresh()

    def open_settings(self) -> None:
        path = user_settings_path()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("# Your Iris settings. Copy keys here from the defaults to change them:\n"
                            f"# {Path(__file__).resolve().parents[1] / 'config' / 'default.toml'}\n"
                            "# Restart Iris after editing.\n")
        opener = {"Darwin": ["open"], "Windows": None}.get(platform.system(), ["xdg-open"])
        try:
            if opener is None:
                os.startfile(path)  # noqa: S606 - Windows only
            else:
                subprocess.Popen(opener + [str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.announce(Announcement("Settings file opened."))
        except OSError:
            self.announce(Announcement(f"Could not open an editor. The settings file is {path}"))

    def quit(self) -> None:
        self.stop_event.set()

    # --- life cycle ---------------------------------------------------------------
    def _problem(self, what: str, why: str) -> None:
        why = " ".join(why.split())           # one line: it is printed and spoken
        self.log(f"Iris: {what}: {why}")
        self.problems.append(f"{what}: {why}")

    def _start_sources(self) -> None:
        s = self.settings
        from assistant.hotkeys import start_hotkeys
        h = s["hotkeys"]
        self.hotkeys, problem = start_hotkeys({
            h["describe_screen"]: self.describe_screen, h["repeat_last"]: self.repeat_last,
            h["stop_speaking"]: self.stop_speaking, h["pause_watching"]: self.toggle_pause,
            h["toggle_speech"]: self.toggle_speech, h["quit"]: self.quit})
        if problem:
            self._problem("no keyboard shortcuts", problem)
        if s["clipboard"]["enabled"]:
            from assistant.clipboard import ClipboardWatcher
            self.clipboard = ClipboardWatcher(lambda img, digest: self.worker.submit_image("clipboard", img, digest),
                                              s["clipboard"]["poll_seconds"], self.log)
            if problem := self.clipboard.start():
                self._problem("clipboard not watched", problem)
                self.clipboard = None
        if s["folders"]["watch"]:
            from assistant.folder_watch import FolderWatcher
            f = s["folders"]
            self.folders = FolderWatcher(f["watch"], f["recursive"], f["settle_seconds"], self.worker.submit_file,
                                         self.log)
            for problem in self.folders.start():
                self._problem("folder", problem)
        from assistant.tray import Tray
        self.tray = Tray({"describe": self.describe_screen, "repeat": self.repeat_last, "pause": self.toggle_pause,
                          "toggle_speech": self.toggle_speech, "open_settings": self.open_settings,
                          "quit": self.quit}, self.paused.is_set, lambda: self.speech_on, self.log)
        if problem := self.tray.start():
            self._problem("no tray icon", f"{problem}; use the keyboard shortcuts")
            self.tray = None

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop_event.set())
        self.log("Iris is starting: loading the captioning model...")
        if self.settings["speech"]["enabled"]:
            from assistant.speech import Speaker
            self.speaker = Speaker(self.settings["speech"], self.log).start()
        if self.settings["history"]["enabled"]:
            from assistant.history import History
            self.history = History()
        self.worker = Worker(self.factory, self.settings, self.announce, self.history, self.log,
                             folders_busy=lambda: bool(self.folders and self.folders.busy))
        self.worker.start()
        self.worker.ready.wait()
        if self.worker.failed:
            self.log(f"Iris cannot start: {self.worker.failed}")
            self._shutdown()
            return 2
        self._start_sources()
        keys = self.settings["hotkeys"]
        ready = f"Iris is ready. Press {_spoken_keys(keys['describe_screen'])} to describe the screen."
        if self.problems:     # a user who cannot see the terminal hears them too, once
            ready += f" {len(self.problems)} {'thing does' if len(self.problems) == 1 else 'things do'} not work: " \
                     + "; ".join(self.problems) + "."
        self.announce(Announcement(ready))
        self.stop_event.wait()
        self.log("Iris is stopping.")
        self._shutdown()
        return 0

    def _shutdown(self) -> None:
        for part in (self.folders, self.clipboard, self.tray):
            if part:
                part.stop()
        if self.hotkeys:
            self.hotkeys.stop()
        if self.worker:
            self.worker.stop()
        if self.speaker:
            self.speaker.close()
        if self.history:
            self.history.close()
        self.log("Iris stopped.")


def _spoken_keys(combo: str) -> str:
    """'<ctrl>+<alt>+d' -> 'Control Alt D', for speech."""
    names = {"ctrl": "Control", "alt": "Alt", "shift": "Shift", "cmd": "Command"}
    return " ".join(names.get(p.strip("<>"), p.strip("<>").upper()) for p in combo.split("+"))
