"""The assistant as a user runs it: a real process on a real X server (Xvfb),
real key presses (xdotool), a real clipboard (xclip), real files in a real
watched folder, real speech (espeak-ng) written to WAV files and measured."""
import hashlib
import shutil
import sqlite3
import subprocess
import threading
import time
from pathlib import Path


from assistant.speech import wav_stats
from conftest import FLICKR, HONOUR_PERMISSIONS

PHOTOS = sorted((FLICKR / "images").glob("*.jpg"))


def utterances(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "speech").glob("utterance-*.wav"))


def assert_real_speech(wav: Path, min_seconds: float = 0.5) -> None:
    duration, rms = wav_stats(wav)
    assert min_seconds <= duration < 30, duration
    assert rms > 0.01, f"{wav} is silent (rms {rms})"


def xdotool(*args):
    subprocess.run(["xdotool", *args], check=True, timeout=10)


def test_hotkey_describes_the_screen_aloud_without_saving_it(xvfb, service_factory, tmp_path, private_dirs):
    s = service_factory()
    s.wait_for("Iris is ready")
    before = len(utterances(tmp_path))
    xdotool("key", "ctrl+alt+d")
    s.wait_for("[screen]", timeout=30)
    s.wait_for("Iris says:", count=2)
    deadline = time.time() + 20
    while len(utterances(tmp_path)) <= before and time.time() < deadline:
        time.sleep(0.1)
    # Nothing is open on this display: the screen is called blank, never given a made-up scene.
    assert [l for l in s.lines if l.startswith("[screen]")] == ["[screen] a blank black image"]
    assert s.count("Iris says: A blank black image.") == 1
    assert_real_speech(utterances(tmp_path)[-1])
    # Screenshots stay in memory: nothing but the history database in Iris's data dir.
    data = private_dirs / "xdg-data" / "iris"
    assert not list(data.rglob("*.png"))
    # Repeat last: the same words again.
    xdotool("key", "ctrl+alt+r")
    s.wait_for("Iris says: A blank black image.", count=2, timeout=20)
    assert s.stop() == 0


def test_clipboard_image_is_announced_once(xvfb, service_factory, tmp_path):
    s = service_factory()
    s.wait_for("Iris is ready")

    servers = []

    def copy(image: Path):
        png = tmp_path / f"{image.stem}.png"
        from PIL import Image
        Image.open(image).save(png)
        # xclip stays in the background serving the clipboard until something else is copied.
        servers.append(subprocess.Popen(["xclip", "-selection", "clipboard", "-t", "image/png", "-i", str(png)]))

    copy(PHOTOS[0])
    s.wait_for("Iris says: Clipboard image:", timeout=30)
    copy(PHOTOS[0])                      # the same picture again: not announced again
    time.sleep(4)
    assert s.count("Iris says: Clipboard image:") == 1
    copy(PHOTOS[1])                      # a new picture is
    s.wait_for("Iris says: Clipboard image:", count=2, timeout=30)
    assert s.stop() == 0
    for server in servers:                 # only the xclip processes this test started, by their id
        if server.poll() is None:
            server.terminate()
        server.wait(10)


def _watch_toml(folder: Path, extra: str = "") -> str:
    return f'[folders]\nwatch = ["{folder}"]\nsettle_seconds = 0.5\nburst_seconds = 1.5\n{extra}'


def _captioned(s, folder: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in s.lines:
        if line.startswith(f"[folder] {folder}/"):
            name = line.removeprefix(f"[folder] {folder}/").split(":")[0]
            counts[name] = counts.get(name, 0) + 1
    return counts


def test_watched_folder_burst_of_500_each_captioned_exactly_once_in_bounded_memory(xvfb, service_factory,
                                                                                   tmp_path):
    import psutil
    folder = tmp_path / "photos"
    folder.mkdir()
    s = service_factory(_watch_toml(folder).replace("burst_seconds = 1.5", "burst_seconds = 3"))
    s.wait_for("Iris is ready")
    proc = psutil.Process(s.proc.pid)
    samples = []                                       # (photos captioned so far, resident bytes)
    done = threading.Event()

    def sample():
        # Often enough that every stretch of photos sees the encoder's transient peak, not only its rest.
        seen, captioned = 0, 0
        while not done.wait(0.02):
            lines = s.lines[seen:]
            seen += len(lines)
            captioned += sum(line.startswith(f"[folder] {folder}/") for line in lines)
            samples.append((captioned, proc.memory_info().rss))

    sampler = threading.Thread(target=sample)
    sampler.start()
    for p in PHOTOS[:500]:
        shutil.copy(p, folder / p.name)
    # Files that are hidden or temporary are not photos to announce.
    for junk in (".hidden.jpg", "~lock.jpg", "download.jpg.part", "notes.txt"):
        shutil.copy(PHOTOS[0], folder / junk)
    s.wait_for("new photos; the first:", timeout=400)
    done.set()
    sampler.join()
    counts = _captioned(s, folder)
    assert set(counts) == {p.name for p in PHOTOS[:500]}
    assert set(counts.values()) == {1}
    # One spoken summary for the burst, not 500 captions read aloud.
    assert s.count("Iris says: 500 new photos; the first:") == 1
    assert s.count("Iris says: New photo") == 0
    # Bounded: only paths wait in the queue, so the peak while photos 400-500 are captioned is no higher than
    # while photos 100-200 were (warm-up over). Holding each decoded photo in between would exceed the margin.
    middle = max(rss for n, rss in samples if 100 <= n < 200)
    late = max(rss for n, rss in samples if n >= 400)
    assert late - middle < 100 * 2**20, (middle / 2**20, late / 2**20)
    assert s.stop() == 0


def test_full_file_queue_blocks_the_producer_until_there_is_room(tmp_path):
    from assistant.events import Request
    from assistant.worker import FILE_QUEUE_LIMIT, Worker
    w = Worker(lambda: None, emit=lambda result: None)        # not started: nothing drains it
    for i in range(FILE_QUEUE_LIMIT):
        w.submit(Request("folder", path=tmp_path / f"{i}.jpg"))
    extra = threading.Thread(target=w.submit, args=(Request("folder", path=tmp_path / "extra.jpg"),))
    extra.start()
    time.sleep(1.5)
    assert extra.is_alive() and w.files.qsize() == FILE_QUEUE_LIMIT      # back-pressure, not growth
    w.files.get()
    extra.join(5)
    assert not extra.is_alive() and w.files.qsize() == FILE_QUEUE_LIMIT


def test_file_written_slowly_is_read_once_when_complete(xvfb, service_factory, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    s = service_factory(_watch_toml(folder, "write_sidecar = true\n"))
    s.wait_for("Iris is ready")
    data = PHOTOS[5].read_bytes()
    target = folder / "slow.jpg"
    with open(target, "wb") as f:        # 10 chunks, 0.3 s apart: longer than the whole settle time
        for i in range(10):
            f.write(data[i * len(data) // 10:(i + 1) * len(data) // 10])
            f.flush()
            time.sleep(0.3)
    s.wait_for("Iris says: New photo:", timeout=60)
    time.sleep(2)
    assert _captioned(s, folder) == {"slow.jpg": 1}
    assert "damaged or truncated" not in s.output
    # The caption is written beside the photo; the photo itself is untouched.
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(data).digest()
    side = folder / "slow.jpg.txt"
    assert side.read_text().strip() in s.output
    assert s.stop() == 0


def test_tray_icon_docks_and_describes_on_click(xvfb, trayer, service_factory):
    s = service_factory()
    s.wait_for("Tray icon shown.")
    s.wait_for("Iris is ready")
    time.sleep(1)
    # The icon is a window embedded in trayer's panel; click its middle.
    out = subprocess.run(["xdotool", "search", "--classname", "main.py"], capture_output=True, text=True)
    windows = out.stdout.split()
    assert windows, "no tray icon window"
    geo = subprocess.run(["xdotool", "getwindowgeometry", "--shell", windows[-1]], capture_output=True, text=True).stdout
    g = dict(line.split("=") for line in geo.split())
    xdotool("mousemove", str(int(g["X"]) + int(g["WIDTH"]) // 2), str(int(g["Y"]) + int(g["HEIGHT"]) // 2), "click", "1")
    s.wait_for("[screen]", timeout=30)
    assert s.stop() == 0


def test_sigterm_stops_cleanly_with_history_intact(xvfb, service_factory, tmp_path, private_dirs):
    folder = tmp_path / "photos"
    folder.mkdir()
    s = service_factory(_watch_toml(folder))
    s.wait_for("Iris is ready")
    for p in PHOTOS[:30]:
        shutil.copy(p, folder / p.name)
    s.wait_for("[folder]", count=5, timeout=60)
    assert s.stop(timeout=30) == 0          # SIGTERM in the middle of the burst
    assert "Iris stopped." in s.output
    assert "Traceback" not in s.output
    db = sqlite3.connect(private_dirs / "xdg-data" / "iris" / "history.sqlite3")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = db.execute("SELECT source, path, caption, status FROM captions WHERE source='folder'").fetchall()
    assert len(rows) >= 5 and all(r[3] == "ok" and r[2] for r in rows)
    assert len({r[1] for r in rows}) == len(rows)          # nothing recorded twice
    # The history command lists them.
    from conftest import run_main
    out = run_main("history", "-n", "3", env={"XDG_DATA_HOME": str(private_dirs / "xdg-data")})
    assert out.returncode == 0 and out.stdout.count("folder") == 3


def test_sigterm_that_the_kernel_gives_to_another_thread_still_stops_iris(xvfb, service_factory):
    """A signal sent to a process reaches any one of its threads that does not block it; Python acts on it
    only in the main thread. CI once saw Iris wait for ever after a SIGTERM; this sends one to each other
    thread in turn (tgkill), as the kernel may."""
    from conftest import sigterm_another_thread
    s = service_factory()
    s.wait_for("Iris is ready")
    sigterm_another_thread(s.proc.pid)
    try:
        s.proc.wait(20)
    except subprocess.TimeoutExpired:
        raise AssertionError("Iris did not stop after a SIGTERM taken by another thread:\n"
                             + s.output[-3000:]) from None
    assert s.proc.returncode == 0 and "Iris stopped." in s.output


def test_without_display_it_keeps_watching_and_says_plainly_what_it_cannot_do(service_factory, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    s = service_factory(_watch_toml(folder), env={"DISPLAY": None, "WAYLAND_DISPLAY": None})
    s.wait_for("Iris is ready")
    # Printed once each, with the technical detail...
    assert s.count("Iris: Keyboard shortcuts do not work here") == 1
    assert s.count("Iris: There is no tray icon") == 1
    assert s.count("Iris: Copied images are not described, because there is no display.") == 1
    # ...and said once, in plain words, offering only what still works.
    ready = [l for l in s.lines if l.startswith("Iris says: Iris is ready")]
    assert len(ready) == 1, ready
    assert "Neither keyboard shortcuts nor a tray icon work here" in ready[0]
    assert "watched folders are still described" in ready[0]
    assert "Press Control Alt D" not in ready[0]
    for technical in ("Error", "X connection", "DISPLAY", "(", "pynput"):
        assert technical not in ready[0], (technical, ready[0])
    shutil.copy(PHOTOS[0], folder / "a.jpg")
    s.wait_for("Iris says: New photo:", timeout=60)
    assert s.stop() == 0


def test_unknown_voice_is_reported_once_and_the_default_voice_speaks(xvfb, service_factory, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    s = service_factory(_watch_toml(folder), speech_extra='voice = "no-such-voice-xyz"\n')
    s.wait_for("Iris is ready")
    for p in PHOTOS[:2]:
        shutil.copy(p, folder / p.name)
    s.wait_for("Iris says: 2 new photos", timeout=60)
    assert s.count("Iris: The voice no-such-voice-xyz was not found; the default voice speaks.") == 1
    assert s.stop() == 0
    assert_real_speech(utterances(tmp_path)[-1])


def test_hostile_files_in_watched_folder_are_each_reported_once_and_recorded(xvfb, service_factory, tmp_path,
                                                                              private_dirs):
    from hostile import hostile_files, huge_jpeg
    folder = tmp_path / "photos"
    folder.mkdir()
    s = service_factory(_watch_toml(folder))
    s.wait_for("Iris is ready")
    staging = tmp_path / "staging"
    staging.mkdir()
    expected = hostile_files(staging, PHOTOS[0])
    huge_jpeg(staging / "huge.jpg")
    for p in staging.iterdir():
        shutil.move(p, folder / p.name)                  # moved in, as a download manager does
    (folder / "loop1.jpg").symlink_to(folder / "loop2.jpg")
    (folder / "loop2.jpg").symlink_to(folder / "loop1.jpg")
    expected.update({"loop1.jpg": "symbolic link loop", "loop2.jpg": "symbolic link loop"})
    shutil.copy(PHOTOS[1], folder / "deleted.jpg")
    (folder / "deleted.jpg").unlink()                    # gone before Iris could read it
    expected["deleted.jpg"] = "no longer exists"
    s.wait_for("could not be read", timeout=90)
    for name, words in expected.items():
        hits = [l for l in s.lines if l.startswith(f"[folder] {folder / name}:")]
        assert len(hits) == 1 and words in hits[0], (name, hits)
    assert _captioned(s, folder).get("huge.jpg") == 1     # a 108-megapixel photo is simply described
    # Still running: a good photo afterwards is described.
    shutil.copy(PHOTOS[2], folder / "good.jpg")
    s.wait_for("Iris says: New photo:", timeout=60)
    assert s.stop() == 0
    assert "Traceback" not in s.output
    db = sqlite3.connect(private_dirs / "xdg-data" / "iris" / "history.sqlite3")
    failed = dict(db.execute("SELECT path, error FROM captions WHERE status='failed'").fetchall())
    assert {str(folder / n) for n in expected} == set(failed)


def test_pause_hotkey_stops_watching_until_resumed(xvfb, service_factory, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    s = service_factory(_watch_toml(folder))
    s.wait_for("Iris is ready")
    xdotool("key", "ctrl+alt+p")
    s.wait_for("Iris says: Watching paused.")
    shutil.copy(PHOTOS[0], folder / "while_paused.jpg")
    time.sleep(3)
    assert not _captioned(s, folder)
    xdotool("key", "ctrl+alt+p")
    s.wait_for("Iris says: Watching resumed.")
    shutil.copy(PHOTOS[1], folder / "after.jpg")
    s.wait_for("Iris says: New photo:", timeout=60)
    assert _captioned(s, folder) == {"after.jpg": 1}
    assert s.stop() == 0


def test_running_assistant_opens_no_network_socket(xvfb, service_factory, tmp_path):
    import psutil
    folder = tmp_path / "photos"
    folder.mkdir()
    s = service_factory(_watch_toml(folder))
    s.wait_for("Iris is ready")
    shutil.copy(PHOTOS[0], folder / "a.jpg")
    xdotool("key", "ctrl+alt+d")
    s.wait_for("[screen]", timeout=30)
    s.wait_for("Iris says: New photo:", timeout=30)
    proc = psutil.Process(s.proc.pid)

    def sockets(p):
        try:
            return p.net_connections(kind="inet")
        except (psutil.NoSuchProcess, FileNotFoundError):     # a child that has ended (a finished utterance)
            return []
    assert [c for p in [proc, *proc.children(recursive=True)] for c in sockets(p)] == []
    assert proc.net_connections(kind="inet") == []            # the assistant itself is certainly still there
    assert s.stop() == 0


def test_unreadable_folders_and_files_are_reported_once_and_the_rest_is_watched(xvfb, service_factory, tmp_path,
                                                                                private_dirs):
    photos, closed, staging = tmp_path / "photos", tmp_path / "closed", tmp_path / "staging"
    for d in (photos, photos / "locked", closed, staging):
        d.mkdir()
    (photos / "locked").chmod(0)
    closed.chmod(0)
    s = service_factory(f'[folders]\nwatch = ["{photos}", "{closed}"]\nrecursive = true\nsettle_seconds = 0.5\n'
                        'burst_seconds = 1.5\n', prefix=HONOUR_PERMISSIONS)
    s.wait_for("Iris is ready")
    assert s.count(f"cannot watch {closed}: permission denied") == 1
    assert s.count(f"cannot look inside {photos / 'locked'} (permission denied)") == 1
    ready = [l for l in s.lines if l.startswith("Iris says: Iris is ready")][0]
    assert "Iris may not read the folder closed, so it is not watched." in ready
    shutil.copy(PHOTOS[0], staging / "secret.jpg")
    (staging / "secret.jpg").chmod(0)
    shutil.move(staging / "secret.jpg", photos / "secret.jpg")
    s.wait_for(f"[folder] {photos / 'secret.jpg'}:", timeout=60)
    assert "permission denied" in [l for l in s.lines if l.startswith(f"[folder] {photos / 'secret.jpg'}:")][0]
    shutil.copy(PHOTOS[1], photos / "good.jpg")          # the readable rest is still watched
    s.wait_for("Iris says: New photo:", timeout=60)
    assert s.stop() == 0
    assert _captioned(s, photos) == {"good.jpg": 1, "secret.jpg": 1}     # each reported once
    db = sqlite3.connect(private_dirs / "xdg-data" / "iris" / "history.sqlite3")
    assert db.execute("SELECT status FROM captions WHERE path = ?", (str(photos / "secret.jpg"),)).fetchall() \
        == [("failed",)]
    for d in (photos / "locked", closed):
        d.chmod(0o700)


def test_without_espeak_ng_captions_are_printed_and_the_reason_said_once(xvfb, service_factory, tmp_path):
    folder, broken = tmp_path / "photos", tmp_path / "lib"
    folder.mkdir()
    broken.mkdir()
    (broken / "libespeak-ng.so.1").write_bytes(b"")      # found first, cannot be loaded: as if not installed
    s = service_factory(_watch_toml(folder), env={"LD_LIBRARY_PATH": str(broken)})
    s.wait_for("Iris is ready")
    shutil.copy(PHOTOS[0], folder / "a.jpg")
    s.wait_for("Iris says: New photo:", timeout=60)
    shutil.copy(PHOTOS[1], folder / "b.jpg")
    s.wait_for("Iris says: New photo:", count=2, timeout=60)
    assert s.stop() == 0
    assert s.count("Iris: Speech does not work here, so descriptions are printed only. On Linux, install espeak-ng.") == 1
    assert utterances(tmp_path) == []
    assert "Traceback" not in s.output


def test_without_xclip_the_clipboard_is_reported_once_and_hotkeys_still_work(xvfb, service_factory, tmp_path):
    import os
    bin_dir = tmp_path / "bin"                            # every command on PATH except the clipboard tools
    bin_dir.mkdir()
    for d in os.environ["PATH"].split(os.pathsep):
        for tool in Path(d).glob("*") if Path(d).is_dir() else []:
            if tool.name not in ("xclip", "xsel", "wl-paste") and not (bin_dir / tool.name).exists():
                (bin_dir / tool.name).symlink_to(tool)
    s = service_factory(env={"PATH": str(bin_dir)})
    s.wait_for("Iris is ready")
    assert s.count("Iris: Copied images are not described until xclip is installed. "
                   "(clipboard images cannot be read: install xclip") == 1
    xdotool("key", "ctrl+alt+d")
    s.wait_for("[screen]", timeout=30)
    assert s.stop() == 0
    # printed once (with the detail), and said once with "Iris is ready"
    assert s.count("Copied images are not described until xclip is installed.") == 2


def _display_that_drops_later_connections(real: str):
    """A real X display ':N' whose first connection is passed through to the Xvfb at `real` and whose
    later ones are closed at once, as an X server does while it resets. Returns (':N', its socket)."""
    import socket
    n = next(n for n in range(200, 300) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(f"/tmp/.X11-unix/X{n}")
    server.listen()

    def pump(a, b):
        while data := a.recv(65536):
            b.sendall(data)
        b.close()

    def serve():
        first = True
        while True:
            client, _ = server.accept()
            if not first:
                client.close()
                continue
            first = False
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(f"/tmp/.X11-unix/X{real.lstrip(':')}")
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=pump, args=(a, b), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return f":{n}", server


def test_hotkeys_report_a_display_that_drops_their_connection_instead_of_hanging(xvfb):
    """pynput's check at import connects once (passed through); its listener's own connection is then
    dropped. Start-up must say so in one line, not wait for the listener for ever in silence."""
    import os
    import sys
    from conftest import ROOT
    name, server = _display_that_drops_later_connections(xvfb)
    try:
        r = subprocess.run([sys.executable, "-c", "from assistant.hotkeys import start_hotkeys\n"
                            "listener, problem = start_hotkeys({'<ctrl>+<alt>+d': print})\n"
                            "print('listener:', listener, '| problem:', problem)"],
                           cwd=ROOT, env={**os.environ, "DISPLAY": name}, capture_output=True, text=True, timeout=60)
    finally:
        server.close()
        Path(f"/tmp/.X11-unix/X{name.lstrip(':')}").unlink()
    assert r.returncode == 0, r.stderr
    assert ("listener: None | problem: keyboard shortcuts are not available (ConnectionClosedError: "
            "Display connection closed by server" in r.stdout), r.stdout
    assert "Traceback" not in r.stderr          # one line, not a page
