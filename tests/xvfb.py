"""A private X server (Xvfb) for the tests and the benchmarks."""
import os
import subprocess
import time


def start_xvfb(screen: str = "1024x768x24", log_path=None) -> tuple[subprocess.Popen | None, str]:
    """Start Xvfb on a display number it picks itself. Returns (process, ":N") once the server accepts a
    connection, or (None, why) when it will not start; Xvfb's own words go to log_path."""
    from Xlib import display as xdisplay
    r, w = os.pipe()
    with open(log_path or os.devnull, "ab") as log:
        # -noreset: by default Xvfb resets when its last client leaves, and a client connecting during the
        # reset (our own readiness check has just closed) has its connection dropped.
        proc = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", screen, "-nolisten", "tcp", "-noreset"],
                                pass_fds=[w], stderr=log)
    os.close(w)
    # Xvfb writes the number and then the newline in two writes, and dies ("Cannot write display number")
    # if our end is closed in between: read up to the newline or the end.
    number = b""
    while not number.endswith(b"\n") and (chunk := os.read(r, 16)):
        number += chunk
    os.close(r)
    name = ":" + number.decode().strip()
    end = time.time() + 10
    while number.endswith(b"\n") and time.time() < end and proc.poll() is None:
        try:
            xdisplay.Display(name).close()
            return proc, name
        except Exception:
            time.sleep(0.1)
    proc.kill()
    proc.wait()
    return None, f"Xvfb on {name} exited with {proc.returncode}"
