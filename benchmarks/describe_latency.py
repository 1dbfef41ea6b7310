"""Describe latency: from a describe request to the caption text and to the first audio
sample of speech, p50 and p95 over 50 screenshots, on 2 cores with the shipped model.
Each step is what the assistant does on Ctrl+Alt+D: screenshot (mss), preprocessing,
encoder, beam search, speech synthesis (espeak-ng via pyttsx3; the WAV is handed to the
player as soon as it exists, so its completion is when the first sample can sound).

A private Xvfb shows a different Flickr8k test photo full-screen for each request.
Writes results/describe_latency.md.

    .venv/bin/python benchmarks/describe_latency.py [--n 50] [--beam 3]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, percentile, two_cores, write_table
from tests import xvfb

FLICKR = ROOT.parent / "shared" / "data" / "flickr8k"
VIEWER = """
import sys, tkinter as tk
from PIL import Image, ImageTk
root = tk.Tk(); root.attributes('-fullscreen', True)
label = tk.Label(root); label.pack(fill='both', expand=True)
def show():
    line = sys.stdin.readline().strip()
    if not line: root.destroy(); return
    im = Image.open(line).resize((root.winfo_screenwidth(), root.winfo_screenheight()))
    label.img = ImageTk.PhotoImage(im); label.configure(image=label.img)
    root.update(); print('shown', flush=True); root.after(1, show)
root.after(100, show); root.mainloop()
"""


def start_xvfb() -> subprocess.Popen:
    """A private Xvfb; DISPLAY points at it."""
    proc, name = xvfb.start_xvfb("1280x800x24")
    if proc is None:
        sys.exit(name)
    os.environ["DISPLAY"] = name
    return proc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--beam", type=int, default=3)
    args = ap.parse_args()
    two_cores()
    xvfb = start_xvfb()
    from assistant.screen import grab
    from assistant.speech import Speaker
    from model.captioner import Captioner
    from model.data import load_captions, split
    photos = [FLICKR / "orig1000_s256" / r["image"] for r in split(load_captions(FLICKR), "test")
              if (FLICKR / "orig1000_s256" / r["image"]).exists()][:args.n]
    viewer = subprocess.Popen([sys.executable, "-c", VIEWER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    c = Captioner(device="cpu", beam_size=args.beam)
    c.warm_up()
    out = Path(tempfile.mkdtemp())
    speaker = Speaker({"rate": 175, "volume": 1.0, "voice": "", "output_dir": str(out)}).start()
    stages = {k: [] for k in ("screenshot", "preprocess", "encoder", "decoding", "to caption", "speech synthesis",
                              "to first audio")}
    for photo in photos:
        viewer.stdin.write(f"{photo}\n"); viewer.stdin.flush(); viewer.stdout.readline()
        t0 = time.perf_counter()
        image = grab("under_mouse")
        t1 = time.perf_counter()
        x = c.prepare(image)[None]
        t2 = time.perf_counter()
        feats = c.encode(x)
        t3 = time.perf_counter()
        caption = c.decode(feats)[0]
        t4 = time.perf_counter()
        n = len(speaker.spoken)
        speaker.say(caption.text)
        while len(speaker.spoken) == n:
            time.sleep(0.001)
        t5 = time.perf_counter()
        for k, v in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0, t5 - t4, t5 - t0)):
            stages[k].append(v * 1000)
    speaker.close()
    viewer.stdin.close(); viewer.wait(10); xvfb.terminate()
    rows = [[k, f"{percentile(v, 50):.0f}", f"{percentile(v, 95):.0f}"] for k, v in stages.items()]
    write_table("describe_latency.md",
                f"Describe latency, {len(photos)} screenshots (1280x800, a test photo on screen), 2 CPU cores, "
                f"shipped model, beam {args.beam}. Milliseconds.", ["step", "p50", "p95"], rows,
                "Target: p95 to the caption at most 500 ms.")


if __name__ == "__main__":
    main()
