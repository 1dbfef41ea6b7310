"""Folder throughput: `main.py caption-folder` on Flickr8k test photos against a plain
per-image loop (open one image, encode it, greedy-decode it, next), both on 2 cores
with the shipped model. Medians over repeated runs. Writes results/folder_throughput.md.

    .venv/bin/python benchmarks/folder_throughput.py [--images 1000] [--repeats 3]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, median, two_cores, write_table

FLICKR = ROOT.parent / "shared" / "data" / "flickr8k"


def plain_loop(paths) -> float:
    from assistant.images import open_image
    from model.captioner import Captioner
    from model.search import greedy
    c = Captioner(device="cpu", beam_size=1)
    c.warm_up()
    t = time.perf_counter()
    for p in paths:
        x = c.prepare(open_image(p))[None]
        greedy(c.decoder, c.encode(x), c.vocab.start, c.vocab.end, c.max_length)
    return len(paths) / (time.perf_counter() - t)


def caption_folder(folder: Path, n: int, beam: int) -> tuple[float, float]:
    """(images/s including model load, images/s after the first output line) for the real CLI process."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = ["taskset", "-c", "0,1"] if (os.cpu_count() or 1) > 2 else []
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd + [sys.executable, str(ROOT / "main.py"), "caption-folder", str(folder),
                                "--beam", str(beam)], stdout=subprocess.PIPE, text=True, env=env)
    first, count = None, 0
    for _ in p.stdout:
        count += 1
        first = first or time.perf_counter()
    p.wait()
    end = time.perf_counter()
    assert p.returncode == 0 and count == n, (p.returncode, count)
    return n / (end - t0), (n - 1) / (end - first)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    two_cores()
    from model.data import load_captions, split
    names = [r["image"] for r in split(load_captions(FLICKR), "test")][:args.images]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n in names:
            os.symlink(FLICKR / "images" / n, folder / n)
        paths = sorted(folder.iterdir())
        loop = median([plain_loop(paths[:200]) for _ in range(args.repeats)])
        beam1 = [caption_folder(folder, len(names), 1) for _ in range(args.repeats)]
        beam3 = [caption_folder(folder, len(names), 3) for _ in range(args.repeats)]
    rows = [["plain per-image loop (greedy, 200 images)", f"{loop:.1f}", "-", "1.0x"]]
    for label, runs in (("caption-folder --beam 1", beam1), ("caption-folder --beam 3", beam3)):
        total, steady = median([r[0] for r in runs]), median([r[1] for r in runs])
        rows.append([label, f"{total:.1f}", f"{steady:.1f}", f"{steady / loop:.1f}x"])
    write_table("folder_throughput.md",
                f"Folder throughput, {len(names)} Flickr8k test photos, 2 CPU cores, shipped model, "
                f"median of {args.repeats} runs.",
                ["method", "images/s (whole run, model load included)", "images/s (steady)", "speed-up"], rows,
                "Targets: at least 15 images/s and at least 3x the plain loop.")


if __name__ == "__main__":
    main()
