"""Speaker: the queue of things to say and the policy of what cuts off what. The
engine work is a driver's (assistant/speech_drivers.py); one thread owns it.

A new description cuts off the one being spoken (interrupt); a summary waits its
turn. While speech is off (muted) nothing is queued. A driver that fails is
reported once, as a Problem, and the descriptions are still printed."""
import collections
import queue
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from assistant.problems import Problem
from assistant.speech_drivers import PlayerDriver, SilentDriver, SpeechError, WavFileDriver
from config.settings import SpeechSettings

SPOKEN_KEPT = 50       # recent (text, time of first audio) pairs, for tests and benchmarks


@dataclass(frozen=True)
class _Item:
    text: str
    mute_after: bool = False


def make_driver(settings: SpeechSettings, on_audio: Callable[[], None]):
    """WAV files when output_dir is set, else an audio player."""
    return (WavFileDriver if settings.output_dir else PlayerDriver)(settings, on_audio)


class Speaker:
    THREAD = "iris-speech"

    def __init__(self, settings: SpeechSettings, report: Callable[[Problem], None] = print, driver=None):
        self.settings, self.report = settings, report
        self.driver = driver or make_driver(settings, self._audio_started)
        self.muted = not settings.enabled
        self.spoken: collections.deque = collections.deque(maxlen=SPOKEN_KEPT)
        self._queue: queue.Queue = queue.Queue()
        self._current = ""
        self._reported: set[str] = set()
        self._opened = threading.Event()
        self._problems: list[Problem] = []
        self._thread = threading.Thread(target=self._run, name=self.THREAD, daemon=True)

    # --- life cycle -------------------------------------------------------------
    def start(self) -> list[Problem]:
        self._thread.start()
        self._opened.wait(timeout=15)
        return self._problems

    def stop(self, timeout: float = 5) -> None:
        self.stop_speaking()
        self._queue.put(None)
        self._thread.join(timeout)

    # --- from any thread --------------------------------------------------------
    def say(self, text: str, interrupt: bool = True, mute_after: bool = False) -> None:
        """Queue text; with interrupt (the default) whatever is being spoken stops first. mute_after: the
        last words before speech goes off ("Speech off.")."""
        if interrupt:
            self.stop_speaking()
        if self.muted:
            return
        if mute_after:
            self.muted = True               # nothing queued after this one is spoken
        self._queue.put(_Item(text, mute_after))

    def unmute(self) -> None:
        self.muted = False

    def stop_speaking(self) -> None:
        """Cut off the current utterance and drop anything waiting."""
        while True:
            try:
                self._queue.get_nowait()
                self._queue.task_done()
            except queue.Empty:
                break
        self.driver.cancel()

    def wait_idle(self, timeout: float = 30) -> bool:
        """True once nothing is queued or being spoken (`describe --speak` waits so before exiting)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.02)
        return False

    # --- the speech thread ------------------------------------------------------
    def _audio_started(self) -> None:
        self.spoken.append((self._current, time.time()))

    def _report_once(self, problem: Problem, key: str) -> None:
        if key not in self._reported:
            self._reported.add(key)
            self.report(problem)

    def _run(self) -> None:
        try:
            self._problems = self.driver.open()
        except SpeechError as e:
            self._problems = [Problem("Speech does not work here, so descriptions are printed only. "
                                      "On Linux, install espeak-ng.", str(e))]
            self.driver = SilentDriver()
        self._opened.set()
        try:
            while True:
                item = self._queue.get()
                try:
                    if item is None:
                        return
                    self._current = item.text
                    self.driver.speak(item.text)
                except SpeechError as e:       # the speech thread outlives any one utterance
                    self._report_once(Problem("Speech failed, so descriptions are printed only.", str(e)),
                                      str(e).split("(")[0])
                except Exception as e:  # noqa: BLE001 - a driver bug must not end speech for good
                    self._report_once(Problem("Speech failed, so descriptions are printed only.",
                                              f"could not speak ({type(e).__name__}: {e})"), type(e).__name__)
                finally:
                    self._queue.task_done()
        finally:
            self.driver.close()


def wav_stats(path: Path) -> tuple[float, float]:
    """(duration in seconds, RMS of the samples 0..1) of a 16-bit mono WAV: used to check speech is real."""
    import array
    with wave.open(str(path), "rb") as w:
        frames = w.readframes(w.getnframes())
        duration = w.getnframes() / w.getframerate()
    samples = array.array("h", frames)
    if not samples:
        return duration, 0.0
    rms = (sum(s * s for s in samples) / len(samples)) ** 0.5 / 32768
    return duration, rms
