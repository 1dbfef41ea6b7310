"""Speech drivers, shaped like NVDA's synthDrivers: each does the engine work for one
way of speaking and raises SpeechError when it cannot; it never reports or retries on
its own. Speaker (assistant/speech.py) owns the queue and decides what is cut off.

  open() -> problems     on the speech thread, once (pyttsx3 engines belong to one thread)
  speak(text)            blocks until the text has been spoken or cancel() was called
  cancel()               from any thread: cut off what is being spoken now
  close()                on the speech thread, once

Synthesis writes one WAV per utterance. Where the espeak-ng program is installed (Linux)
it runs as its own process: an engine fault then ends one utterance, not Iris, and the
engine keeps no state between utterances. Elsewhere pyttsx3 (SAPI, NSSpeechSynthesizer)
synthesises in-process. Playback is a separate player process either way, so cancel()
can always cut speech off."""
import itertools
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import wave
from pathlib import Path
from typing import Callable

from assistant.problems import Problem, one_line
from config.settings import SpeechSettings

SYNTH_TIMEOUT = 20     # seconds to wait for the engine to finish one utterance's WAV
PLAYERS = (["aplay", "-q"], ["paplay"], ["pw-play"], ["play", "-q"])   # tried in this order on Linux


class SpeechError(Exception):
    """This utterance could not be spoken; the message is for the printed log."""


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


class EspeakProcess:
    """espeak-ng's own program writing one utterance to a WAV file, the text on its standard input.

    In-process espeak-ng (through pyttsx3) synthesises on the engine's own thread and calls back into
    Python from it, beside torch's threads; a separate process cannot crash the assistant."""

    def __init__(self, settings: SpeechSettings, program: str):
        self.settings, self.program = settings, program
        self._voice: str | None = None
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def open(self) -> list[Problem]:
        try:
            listing = subprocess.run([self.program, "--voices"], capture_output=True, text=True, timeout=SYNTH_TIMEOUT)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise SpeechError(f"espeak-ng cannot run ({one_line(e)})") from None
        if listing.returncode != 0:
            raise SpeechError(f"espeak-ng cannot run ({_last_line(listing.stderr)})")
        if wanted := self.settings.voice.strip().lower():
            # Columns: priority, language, age/gender, name, file, other languages.
            rows = [line.split() for line in listing.stdout.splitlines()[1:] if len(line.split()) >= 5]
            self._voice = next((row[1] for row in rows if wanted in (row[1].lower(), row[3].lower(), row[4].lower())),
                               None)
            if self._voice is None:
                some = ", ".join(row[3] for row in rows[:5])
                return [Problem(f"The voice {self.settings.voice} was not found; the default voice speaks.",
                                f"voices include: {some}")]
        return []

    def to_wav(self, text: str, target: Path) -> None:
        """Raises SpeechError when no audio came out; returns early, with no file, once cancel() was called."""
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        command = [self.program, "--stdin", "-b", "1", "-w", str(target), "-s", str(int(self.settings.rate)),
                   "-a", str(round(100 * float(self.settings.volume)))] + (["-v", self._voice] if self._voice else [])
        with self._lock:
            self._proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE)
        try:
            _, err = self._proc.communicate(text.encode("utf-8"), timeout=SYNTH_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.communicate()
            raise SpeechError(f"the speech engine took over {SYNTH_TIMEOUT} s for one utterance") from None
        if self._proc.returncode == -9:          # cancelled
            target.unlink(missing_ok=True)
            return
        if self._proc.returncode != 0 or frames(target) == 0:
            raise SpeechError(f"the speech engine produced no audio ({_last_line(err.decode(errors='replace'))})")

    def cancel(self) -> None:
        with self._lock:
            if self._proc and self._proc.poll() is None:
                self._proc.kill()

    def close(self) -> None:
        self.cancel()


def _last_line(text: str) -> str:
    return (text.strip().splitlines() or ["unknown error"])[-1]


def make_synthesizer(settings: SpeechSettings):
    """The espeak-ng program where it is installed, otherwise pyttsx3's engine for this platform."""
    program = shutil.which("espeak-ng")
    return EspeakProcess(settings, program) if program else Synthesizer(settings)


class Synthesizer:
    """pyttsx3 writing one utterance to a WAV file (SAPI on Windows, NSSpeechSynthesizer on macOS)."""

    def __init__(self, settings: SpeechSettings):
        self.settings = settings
        self.engine = None
        self._voice_id: str | None = None
        self._finished = threading.Event()

    def open(self) -> list[Problem]:
        try:
            import pyttsx3
            self.engine = pyttsx3.init()
        except Exception as e:   # no espeak-ng library, no SAPI...
            raise SpeechError(one_line(e)) from None
        # runAndWait can return before espeak-ng's own thread has written the WAV: the driver's
        # "finished-utterance" notice comes after the file is written.
        self.engine.connect("finished-utterance", lambda **_: self._finished.set())
        if not isinstance(sys.stdout, _DropEngineChatter):
            sys.stdout = _DropEngineChatter(sys.stdout)
        if wanted := self.settings.voice:
            voices = self.engine.getProperty("voices") or []
            self._voice_id = next((v.id for v in voices if wanted.lower() in (str(v.id).lower(), str(v.name).lower())),
                                  None)
            if self._voice_id is None:
                some = ", ".join(str(v.name) for v in voices[:5])
                return [Problem(f"The voice {wanted} was not found; the default voice speaks.",
                                f"voices include: {some}")]
        return []

    def to_wav(self, text: str, target: Path) -> None:
        """Raises SpeechError when no audio came out."""
        target.parent.mkdir(parents=True, exist_ok=True)
        # A missing or empty WAV has been seen under load even after the finished notice;
        # synthesise again rather than stay silent.
        for _ in range(3):
            target.unlink(missing_ok=True)
            self._finished.clear()
            try:
                # Rate, volume and voice before every utterance: espeak-ng keeps them in global state
                # that a second engine in the process (tests, or one pyttsx3 rebuilds) resets.
                self.engine.setProperty("rate", int(self.settings.rate))
                self.engine.setProperty("volume", float(self.settings.volume))
                if self._voice_id:
                    self.engine.setProperty("voice", self._voice_id)
                self.engine.save_to_file(text, str(target))
                self.engine.runAndWait()
            except Exception as e:
                raise SpeechError(f"the speech engine failed ({one_line(e)})") from None
            if not self._finished.wait(SYNTH_TIMEOUT):
                raise SpeechError(f"the speech engine took over {SYNTH_TIMEOUT} s for one utterance")
            if frames(target) > 0:
                return
        raise SpeechError("the speech engine produced no audio")

    def cancel(self) -> None:
        pass        # an in-process engine finishes its WAV; the player is what gets cut off

    def close(self) -> None:
        self.engine = None


class SilentDriver:
    """The null driver: when speech cannot work at all, descriptions are printed only."""
    name = "silent"

    def open(self) -> list[Problem]:
        return []

    def speak(self, text: str) -> None:
        pass

    def cancel(self) -> None:
        pass

    def close(self) -> None:
        pass


class WavFileDriver:
    """Each utterance becomes a numbered WAV in a folder (the [speech] output_dir setting, and the tests)."""
    name = "wav-files"

    def __init__(self, settings: SpeechSettings, on_audio: Callable[[], None] = lambda: None):
        self.synth, self.folder = make_synthesizer(settings), Path(settings.output_dir).expanduser()
        self.on_audio = on_audio
        self._counter = itertools.count(1)

    def open(self) -> list[Problem]:
        return self.synth.open()

    def speak(self, text: str) -> None:
        target = self.folder / f"utterance-{next(self._counter):04d}.wav"
        # Written under a hidden name and renamed once whole: a reader never finds half a WAV (its header
        # still claiming an endless length) under the real name.
        part = target.with_name(f".{target.stem}.part.wav")
        try:
            self.synth.to_wav(text, part)
            if part.exists():                # not when the synthesis was cancelled
                part.replace(target)
                self.on_audio()
        finally:
            part.unlink(missing_ok=True)     # what a failed synthesis left

    def cancel(self) -> None:
        pass        # a file, once written, is whole; what is still queued is dropped by Speaker

    def close(self) -> None:
        self.synth.close()


class PlayerDriver:
    """Synthesise to a private temporary WAV, then play it with an audio player process that cancel() kills."""
    name = "player"

    def __init__(self, settings: SpeechSettings, on_audio: Callable[[], None] = lambda: None):
        self.synth, self.on_audio = make_synthesizer(settings), on_audio
        self._player: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._cancelled = threading.Event()
        self._tmp: Path | None = None
        self._command: list[str] | None = None

    def open(self) -> list[Problem]:
        if platform.system() == "Windows":
            # winsound plays synchronously and cannot be cut off; not supported until that is solved.
            raise SpeechError("speaking aloud is not supported on Windows yet")
        self._command = ["afplay"] if platform.system() == "Darwin" else next(
            (p for p in PLAYERS if shutil.which(p[0])), None)
        if self._command is None:
            raise SpeechError("no audio player found (install alsa-utils for aplay)")
        problems = self.synth.open()
        self._tmp = Path(tempfile.mkdtemp(prefix="iris-speech-"))
        return problems

    def speak(self, text: str) -> None:
        self._cancelled.clear()
        wav = self._tmp / "say.wav"
        self.synth.to_wav(text, wav)
        with self._lock:
            if self._cancelled.is_set() or not wav.exists():
                return
            self._player = subprocess.Popen(self._command + [str(wav)], stdout=subprocess.DEVNULL,
                                            stderr=subprocess.PIPE)
        self.on_audio()
        _, err = self._player.communicate()
        if self._player.returncode not in (0, -9) and not self._cancelled.is_set():
            raise SpeechError(f"cannot play sound ({_last_line(err.decode(errors='replace'))})")

    def cancel(self) -> None:
        self._cancelled.set()
        self.synth.cancel()
        with self._lock:
            if self._player and self._player.poll() is None:
                self._player.kill()

    def close(self) -> None:
        self.cancel()
        self.synth.close()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)


def frames(path: Path) -> int:
    """Samples in a WAV; 0 when it is missing, empty or not a WAV."""
    try:
        with wave.open(str(path), "rb") as w:
            return w.getnframes()
    except (OSError, EOFError, wave.Error):
        return 0
