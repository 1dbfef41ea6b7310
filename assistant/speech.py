"""Speech: one thread owns the pyttsx3 engine; every utterance can be cut off.

pyttsx3 only synthesises (to a WAV); we play the WAV with a player process we
can kill, because the engine's own Linux playback blocks and cannot be stopped.
If no engine or no audio device works, captions are still printed, and the
reason is said once."""
import itertools
import platform
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path

SYNTH_TIMEOUT = 20     # seconds to wait for the engine to finish one caption's WAV
PLAYERS = (["aplay", "-q"], ["paplay"], ["pw-play"], ["play", "-q"])   # tried in this order on Linux


class _DropEngineChatter:
    """stdout wrapper dropping pyttsx3's "Audio saved to ..." line, printed after every utterance
    from espeak-ng's own thread; a screen-reader user would hear it each time."""
    CHATTER = "Audio saved to "

    def __init__(self, stream):
        self._stream = stream
        self._dropping = False

    def write(self, text):
        if text.startswith(self.CHATTER):
            self._dropping = True
            return len(text)
        if self._dropping and text == "\n":      # print() writes the line ending separately
            self._dropping = False
            return len(text)
        self._dropping = False
        return self._stream.write(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


class Speaker:
    THREAD = "iris-speech"

    def __init__(self, settings: dict, log=print):
        self.settings, self.log = settings, log
        self.output_dir = Path(settings["output_dir"]).expanduser() if settings.get("output_dir") else None
        self._queue: queue.Queue = queue.Queue()
        self._player: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._said_problem: set[str] = set()
        self._counter = itertools.count(1)
        self.ready = threading.Event()
        self._voice_id: str | None = None
        self._finished = threading.Event()
        self.engine_ok = False
        self.spoken: list[tuple[str, float]] = []   # (text, time of first audio), for history and benchmarks
        self._thread = threading.Thread(target=self._run, name=self.THREAD, daemon=True)

    # --- called from any thread -------------------------------------------------
    def start(self) -> "Speaker":
        self._thread.start()
        self.ready.wait(timeout=15)
        return self

    def say(self, text: str, interrupt: bool = True) -> None:
        """Queue text; with interrupt (the default) whatever is being spoken stops first."""
        if interrupt:
            self.stop_speaking()
        self._queue.put(text)

    def stop_speaking(self) -> None:
        """Cut off the current utterance and drop anything waiting."""
        while True:
            try:
                self._queue.get_nowait()
                self._queue.task_done()
            except queue.Empty:
                break
        self._cancel.set()
        with self._lock:
            if self._player and self._player.poll() is None:
                self._player.kill()

    def close(self, timeout: float = 5) -> None:
        self.stop_speaking()
        self._queue.put(None)
        self._thread.join(timeout)

    def wait_idle(self, timeout: float = 30) -> bool:
        """True once nothing is queued or playing (used by `describe --speak` before exiting)."""
        end = time.time() + timeout
        while time.time() < end:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.02)
        return False

    # --- the speech thread ------------------------------------------------------
    def _problem(self, key: str, message: str) -> None:
        if key not in self._said_problem:
            self._said_problem.add(key)
            self.log(f"Speech: {message}")

    def _run(self) -> None:
        engine = None
        try:
            import pyttsx3
            engine = pyttsx3.init()
            # runAndWait can return before espeak-ng's own thread has written the WAV (the first utterance
            # always did): the driver's "finished-utterance" notice comes after the file is written.
            engine.connect("finished-utterance", lambda **_: self._finished.set())
            if wanted := self.settings.get("voice"):
                self._voice_id = self._choose_voice(engine, wanted)
            self.engine_ok = True
        except Exception as e:   # no espeak-ng library, no SAPI, unknown voice...
            self._problem("engine", f"no speech engine works ({type(e).__name__}: {e}). "
                                    "Captions will be printed only. On Linux install espeak-ng.")
        if not isinstance(sys.stdout, _DropEngineChatter):
            sys.stdout = _DropEngineChatter(sys.stdout)
        self.ready.set()
        tmp = Path(tempfile.mkdtemp(prefix="iris-speech-"))
        try:
            while True:
                text = self._queue.get()
                try:
                    if text is None:
                        return
                    self._cancel.clear()
                    if engine is not None:
                        self._speak(engine, text, tmp)
                except Exception as e:     # the speech thread must outlive any one utterance
                    self._problem("utterance", f"could not speak a caption ({type(e).__name__}: {e}).")
                finally:
                    self._queue.task_done()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _choose_voice(self, engine, wanted: str) -> str | None:
        """The id of the voice named by id or name; an unknown one is said once and the default kept."""
        voices = engine.getProperty("voices") or []
        for v in voices:
            if wanted.lower() in (str(v.id).lower(), str(v.name).lower()):
                return v.id
        some = ", ".join(str(v.name) for v in voices[:5])
        self._problem("voice", f"voice '{wanted}' not found; using the default voice. Voices include: {some}")
        return None

    def _apply_settings(self, engine) -> None:
        """Rate, volume and voice, queued before every utterance (so not at start-up too): espeak-ng keeps them
        in global state that a second engine instance in the process (tests, or an engine pyttsx3 rebuilds)
        resets to its defaults."""
        engine.setProperty("rate", int(self.settings["rate"]))
        engine.setProperty("volume", float(self.settings["volume"]))
        if self._voice_id:
            engine.setProperty("voice", self._voice_id)

    def _speak(self, engine, text: str, tmp: Path) -> None:
        target = (self.output_dir / f"utterance-{next(self._counter):04d}.wav") if self.output_dir else tmp / "say.wav"
        target.parent.mkdir(parents=True, exist_ok=True)
        # A missing or empty WAV has been seen under load; we now wait for the engine's finished notice,
        # and should one still come out empty, synthesise again rather than stay silent.
        for _ in range(3):
            target.unlink(missing_ok=True)
            self._finished.clear()
            try:
                self._apply_settings(engine)
                engine.save_to_file(text, str(target))
                engine.runAndWait()
            except Exception as e:
                self._problem("synth", f"the speech engine failed ({e}); captions will be printed only.")
                return
            if not self._finished.wait(SYNTH_TIMEOUT):
                self._problem("slow", f"the speech engine took over {SYNTH_TIMEOUT} s for one caption.")
            if _frames(target) > 0:
                break
        else:
            self._problem("empty", "the speech engine produced no audio; captions will be printed only.")
            return
        if self._cancel.is_set():
            return
        if self.output_dir:
            self.spoken.append((text, time.time()))
            return
        self._play(target, text)

    def _play(self, wav: Path, text: str) -> None:
        if platform.system() == "Windows":
            import winsound
            self.spoken.append((text, time.time()))
            winsound.PlaySound(str(wav), winsound.SND_FILENAME)
            return
        cmd = ["afplay"] if platform.system() == "Darwin" else next(
            (p for p in PLAYERS if shutil.which(p[0])), None)
        if cmd is None:
            self._problem("player", "no audio player found (install alsa-utils for aplay); captions will be printed only.")
            return
        with self._lock:
            if self._cancel.is_set():
                return
            self._player = subprocess.Popen(cmd + [str(wav)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.spoken.append((text, time.time()))
        _, err = self._player.communicate()
        if self._player.returncode not in (0, -9) and not self._cancel.is_set():
            reason = (err.decode(errors="replace").strip().splitlines() or ["unknown error"])[-1]
            self._problem("device", f"cannot play sound ({reason}); captions will be printed only.")


def _frames(path: Path) -> int:
    """Samples in a WAV; 0 when it is missing, empty or not a WAV."""
    try:
        with wave.open(str(path), "rb") as w:
            return w.getnframes()
    except (OSError, EOFError, wave.Error):
        return 0


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
