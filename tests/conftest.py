"""Shared fixtures. Every test gets its own config and data directories, so the
suite never reads or writes the real user's settings or history."""
import os
import sys
from pathlib import Path

import pytest

from xvfb import start_xvfb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FLICKR = ROOT.parent / "shared" / "data" / "flickr8k"


@pytest.fixture(autouse=True)
def private_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    return tmp_path


def run_main(*args, env=None, timeout=300, cwd=ROOT):
    """Run `python main.py ARGS` as a real process; returns CompletedProcess."""
    import subprocess
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          timeout=timeout, env=full_env, cwd=cwd)


# Root reads any file whatever its mode; without these two capabilities file permissions bind it too.
# Prefix a command with this to see what a user without permission sees (CI runs the tests as root).
HONOUR_PERMISSIONS = (["setpriv", "--bounding-set", "-dac_override,-dac_read_search",
                       "--inh-caps", "-dac_override,-dac_read_search"] if os.geteuid() == 0 else [])


TINY = dict(embed_dim=32, hidden_dim=64, attention_dim=32, feature_dim=64)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """A tiny attention model trained here for a few epochs on 12 real Flickr8k photos."""
    import torch
    from model.train import TrainConfig, train
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("tiny")
    cfg = TrainConfig(limit=12, epochs=4, batch_images=4, min_freq=1, lr=3e-3, patience=10,
                      cache_dir=str(root / "cache"), out_dir=str(root / "run"), decoder_hparams=TINY)
    return train(cfg, log=lambda m: None)


# --- a real X server ------------------------------------------------------------
@pytest.fixture(scope="session")
def xvfb(tmp_path_factory):
    """A private Xvfb on a free display number; DISPLAY points at it for the whole session."""
    import shutil
    if not shutil.which("Xvfb"):
        pytest.fail("Xvfb is not installed: run `bash install.sh --test`")
    log = tmp_path_factory.mktemp("xvfb") / "xvfb.log"
    for _ in range(3):
        proc, name = start_xvfb(log_path=log)
        if proc:
            break
    else:
        pytest.fail(f"Xvfb would not start ({name}):\n{log.read_text(errors='replace')[-2000:]}")
    old = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = name
    yield name
    proc.terminate()
    proc.wait(10)
    if old is None:
        os.environ.pop("DISPLAY", None)
    else:
        os.environ["DISPLAY"] = old


@pytest.fixture
def trayer(xvfb):
    """A real tray host (trayer) on the test display, up and owning the tray selection."""
    import subprocess
    import time
    from assistant.tray import tray_host_problem
    proc = subprocess.Popen(["trayer", "--edge", "top", "--align", "right", "--widthtype", "request", "--height", "32"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.time() + 10
    while tray_host_problem() and time.time() < end:
        time.sleep(0.1)
    assert tray_host_problem() is None, "trayer did not start"
    yield proc
    proc.terminate()
    proc.wait(10)


class ServiceProcess:
    """`python main.py run` as a real process, its output collected line by line."""

    def __init__(self, settings_toml: str, tmp_path, env=None, prefix=()):
        import subprocess
        import threading
        self.config = tmp_path / "settings.toml"
        self.config.write_text(settings_toml)
        self.lines: list[str] = []
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        full_env = {k: v for k, v in full_env.items() if v is not None}
        self.proc = subprocess.Popen([*prefix, sys.executable, str(ROOT / "main.py"), "--config", str(self.config), "run"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=full_env,
                                     cwd=ROOT)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def count(self, needle: str) -> int:
        return sum(needle in line for line in list(self.lines))

    def wait_for(self, needle: str, timeout: float = 60, count: int = 1) -> None:
        import time
        end = time.time() + timeout
        while time.time() < end:
            if self.count(needle) >= count:
                return
            if self.proc.poll() is not None and self.count(needle) < count:
                time.sleep(0.2)   # let the reader drain
                if self.count(needle) >= count:
                    return
                raise AssertionError(f"service exited ({self.proc.returncode}) before {needle!r}:\n" + self.output)
            time.sleep(0.05)
        raise AssertionError(f"{needle!r} seen {self.count(needle)} times, wanted {count}:\n" + self.output[-4000:])

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def stop(self, timeout: float = 20) -> int:
        import signal
        import subprocess
        import time
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGUSR1)          # main.py prints every thread's stack: where it hangs
            time.sleep(2)
            self.proc.kill()
            self.proc.wait(10)
            self._reader.join(5)
            raise AssertionError(f"Iris did not stop within {timeout} s:\n" + self.output[-8000:]) from None
        self._reader.join(5)
        return rc


def sigterm_another_thread(pid: int) -> None:
    """SIGTERM to one thread of the process other than its main thread, as the kernel may deliver a signal sent
    to the process (the tgkill syscall); Python runs the handler only in the main thread."""
    import ctypes
    import signal
    tids = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = dict(line.split(":", 1) for line in (task / "status").read_text().splitlines() if ":" in line)
        if int(task.name) != pid and not int(fields["SigBlk"], 16) >> (signal.SIGTERM - 1) & 1:
            tids.append(int(task.name))
    assert tids, "every other thread blocks SIGTERM"
    libc = ctypes.CDLL(None, use_errno=True)
    tgkill = 234                                       # the x86-64 syscall number
    assert libc.syscall(tgkill, pid, tids[-1], int(signal.SIGTERM)) == 0, ctypes.get_errno()


@pytest.fixture
def service_factory(tmp_path, tiny_checkpoint):
    """Start assistants with the tiny model (or the checkpoint given), speech to WAV files; each is stopped at
    the end of the test."""
    started = []

    def start(extra_toml: str = "", env=None, beam: int = 1, speech_extra: str = "", prefix=(),
              checkpoint=None) -> ServiceProcess:
        speech = tmp_path / "speech"
        toml = (f'[model]\ncheckpoint = "{checkpoint or tiny_checkpoint}"\nbeam_size = {beam}\n'
                f'[speech]\noutput_dir = "{speech}"\n{speech_extra}' + extra_toml)
        s = ServiceProcess(toml, tmp_path, env, prefix)
        started.append(s)
        return s

    yield start
    for s in started:
        if s.proc.poll() is None:
            s.stop()


@pytest.fixture
def window_manager(xvfb):
    """openbox on the test display, so windows have titles and one is active (_NET_ACTIVE_WINDOW)."""
    import shutil
    import subprocess
    import time
    if not shutil.which("openbox"):
        pytest.fail("openbox is not installed: run `bash install.sh --test`")
    from Xlib import X, display, error
    d = display.Display()
    root, check, selection = d.screen().root, d.intern_atom("_NET_SUPPORTING_WM_CHECK"), d.intern_atom("WM_S0")

    def managing() -> bool:
        # A window manager that has exited leaves its check window's id on the root window (and the next one may
        # get the same id), so the property alone proves nothing: the WM_S0 selection has an owner only while a
        # window manager runs, and the check window must exist. Windows mapped before that may never get focus.
        if d.get_selection_owner(selection) == X.NONE:
            return False
        prop = root.get_full_property(check, X.AnyPropertyType)
        if not prop or not len(prop.value):
            return False
        try:
            d.create_resource_object("window", prop.value[0]).get_geometry()
            return True
        except error.XError:
            return False

    proc = subprocess.Popen(["openbox", "--sm-disable"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.time() + 20
    while not managing():
        if time.time() > end or proc.poll() is not None:
            d.close()
            proc.kill()
            pytest.fail("openbox did not take over the test display")
        time.sleep(0.1)
    yield proc
    proc.terminate()
    proc.wait(10)
    end = time.time() + 10               # the server lets go of its windows once it sees the connection close
    while d.get_selection_owner(selection) != X.NONE and time.time() < end:
        time.sleep(0.05)
    d.close()


def open_window(*command, title: str, timeout: float = 20):
    """Start a real X program and wait until the window manager reports it active; returns the process."""
    import subprocess
    import time
    from assistant.window import active_window
    proc = subprocess.Popen(list(command), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.time() + timeout
    while time.time() < end:
        w = active_window()
        if w and title in w.title:
            time.sleep(0.5)       # drawn, not only mapped
            return proc
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"no active window titled {title!r} (active: {active_window()})")
