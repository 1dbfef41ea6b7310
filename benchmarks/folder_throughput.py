"""Folder throughput: `main.py caption-folder` on Flickr8k test photos against a plain
per-image loop (open one image, encode it, greedy-decode it, next), both on 2 cores
with the shipped model, and the same pipeline in process with one 2-thread worker against two
1-thread workers (why caption-folder uses two), and how much CPU time the pipeline spends on an image,
which says how far two cores could take it. Medians over repeated runs. Writes results/folder_throughput.md.

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


def plain_loop(c, paths) -> float:
    """Captioner c, one image at a time: images/s."""
    from assistant.images import open_image
    from model.search import greedy
    t = time.perf_counter()
    for p in paths:
        x = c.prepare(open_image(p))[None]
        greedy(c.decoder, c.encode(x), c.vocab.start, c.vocab.end, c.max_length)
    return len(paths) / (time.perf_counter() - t)


def pipeline_in_process(c, paths, workers: int) -> tuple[float, float]:
    """The pipeline caption-folder uses, with a given number of workers, on beam 1: (images/s, CPU
    milliseconds per image, all threads together)."""
    from assistant.images import open_image
    from assistant.pipeline import caption_jobs
    t, cpu = time.perf_counter(), time.process_time()
    for _ in caption_jobs(c, ((p, lambda p=p: open_image(p)) for p in paths), workers=workers):
        pass
    return len(paths) / (time.perf_counter() - t), (time.process_time() - cpu) * 1000 / len(paths)


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
        # Each round measures every method once, back to back, so a round's speed-ups compare runs made
        # under the same load: on a shared machine the load changes from minute to minute.
        from model.captioner import Captioner
        c = Captioner(device="cpu", beam_size=1)     # one model, loaded and warmed up once, for the in-process runs
        c.warm_up()
        rounds = []
        for _ in range(args.repeats):
            rounds.append({"loop": plain_loop(c, paths[:200]),
                           "one": pipeline_in_process(c, paths[:400], 1), "two": pipeline_in_process(c, paths[:400], 2),
                           "beam1": caption_folder(folder, len(names), 1),
                           "beam3": caption_folder(folder, len(names), 3)})
            print(rounds[-1], flush=True)

    def speedup(steady):
        return f"{median([steady(r) / r['loop'] for r in rounds]):.1f}x"

    rows = [["plain per-image loop (greedy, 200 images)", f"{median([r['loop'] for r in rounds]):.1f}", "-", "1.0x"]]
    for key, label in (("one", "its pipeline in process, one 2-thread worker (beam 1, 400 images)"),
                       ("two", "its pipeline in process, two 1-thread workers (beam 1, 400 images)")):
        rows.append([label, "-", f"{median([r[key][0] for r in rounds]):.1f}", speedup(lambda r: r[key][0])])
    for key, label in (("beam1", "caption-folder --beam 1"), ("beam3", "caption-folder --beam 3")):
        rows.append([label, f"{median([r[key][0] for r in rounds]):.1f}", f"{median([r[key][1] for r in rounds]):.1f}",
                     speedup(lambda r: r[key][1])])
    rows.append(["speed-ups by round (caption-folder --beam 1)", "-", "-",
                 ", ".join(f"{r['beam1'][1] / r['loop']:.1f}x" for r in rounds)])
    write_table("folder_throughput.md",
                f"Folder throughput, {len(names)} Flickr8k test photos, 2 CPU cores, shipped model, "
                f"median of {args.repeats} rounds; a speed-up is the median of the rounds' own ratios.",
                ["method", "images/s (whole run, model load included)", "images/s (steady)", "speed-up"], rows,
                "Targets: at least 15 images/s and at least 3x the plain loop.")
    # How close the pipeline is to what two cores allow: its CPU time per image against the loop's wall time.
    cpu = median([r["two"][1] for r in rounds])
    busy = median([r["two"][0] * r["two"][1] / 1000 for r in rounds])
    bound = median([2 * (1000 / r["loop"]) / r["two"][1] for r in rounds])
    write_table("folder_throughput.md", "Two 1-thread workers (beam 1), CPU time, medians over the same rounds:",
                ["CPU ms per image, all threads", "cores kept busy", "speed-up over the loop if both cores were always busy"],
                [[f"{cpu:.1f}", f"{busy:.2f} of 2", f"{bound:.1f}x"]],
                "So 3x needs less work per image, not better use of the cores; and the plain loop runs the same "
                "encoder, so most ways of doing less work speed it up as well.", append=True)


if __name__ == "__main__":
    main()
