"""The assistant at rest: CPU percent and resident memory over 60 s with nothing
happening (clipboard and a folder watched, hotkeys and tray up, shipped model loaded),
and the network sockets it holds (there must be none). Writes results/idle_service.md.

    .venv/bin/python benchmarks/idle_service.py [--seconds 60]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from common import ROOT, write_table, private_display


STAGES = """
import re, sys, json
sys.path.insert(0, sys.argv[1])
def rss():
    return int(re.search(r"VmRSS:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1024
import numpy
out = [["Python and numpy", rss()]]
import torch; out.append([f"import torch ({'CUDA' if torch.version.cuda else 'CPU'} build {torch.__version__})", rss()])
from model.captioner import Captioner
c = Captioner(device="cpu"); c.warm_up(); out.append(["shipped model loaded and warmed up", rss()])
print(json.dumps(out))
"""


def memory_stages() -> list[list[str]]:
    """Resident memory after each step of start-up, in a fresh process: where the megabytes come from."""
    import json
    run = subprocess.run([sys.executable, "-c", STAGES, str(ROOT)], capture_output=True, text=True, check=True)
    rows, before = [], 0.0
    for label, mb in json.loads(run.stdout.strip().splitlines()[-1]):
        rows.append([label, f"{mb:.0f}", f"+{mb - before:.0f}"])
        before = mb
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=60)
    args = ap.parse_args()
    xvfb = private_display()
    tmp = Path(tempfile.mkdtemp())
    (tmp / "watched").mkdir()
    cfg = tmp / "settings.toml"
    cfg.write_text(f'[folders]\nwatch = ["{tmp / "watched"}"]\n[speech]\noutput_dir = "{tmp / "speech"}"\n')
    env = {**os.environ, "XDG_DATA_HOME": str(tmp / "data"), "XDG_CONFIG_HOME": str(tmp / "cfg"), "PYTHONUNBUFFERED": "1"}
    cmd = ["taskset", "-c", "0,1"] if (os.cpu_count() or 1) > 2 else []
    p = subprocess.Popen(cmd + [sys.executable, str(ROOT / "main.py"), "--config", str(cfg)], stdout=subprocess.PIPE,
                         text=True, env=env)
    for line in p.stdout:
        if "Iris is ready" in line:
            break
    time.sleep(5)                                   # let start-up work (warm-up, first speech) settle
    proc = psutil.Process(p.pid)
    cpu0, t0, rss = proc.cpu_times(), time.monotonic(), []
    while time.monotonic() - t0 < args.seconds:
        rss.append(proc.memory_info().rss / 2**20)
        time.sleep(1)
    cpu1, elapsed = proc.cpu_times(), time.monotonic() - t0
    full = proc.memory_full_info()         # USS: pages private to Iris; RSS also counts shared library pages
    sockets = [c for c in proc.net_connections(kind="inet")]
    p.terminate(); p.wait(30); xvfb.terminate()
    busy = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    write_table("idle_service.md", f"Idle assistant over {args.seconds} s (shipped model loaded, clipboard and one "
                "folder watched, hotkeys on, no tray host).", ["measure", "value", "target"],
                [["CPU (percent of one core)", f"{100 * busy / elapsed:.2f}", "under 1"],
                 ["resident memory, median (MB)", f"{sorted(rss)[len(rss) // 2]:.0f}", "at most 600"],
                 ["resident memory, max (MB)", f"{max(rss):.0f}", "at most 600"],
                 ["private memory (USS, MB) at the end", f"{full.uss / 2**20:.0f}", ""],
                 ["shared library and file pages in RSS (MB)", f"{full.shared / 2**20:.0f}", ""],
                 ["network sockets (inet)", str(len(sockets)), "0"]])
    write_table("idle_service.md", "Where the resident memory comes from (a fresh process, step by step):",
                ["step", "resident MB after it", "added MB"], memory_stages(), append=True)


if __name__ == "__main__":
    main()
