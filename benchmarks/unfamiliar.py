"""What Iris says about images unlike its training photos, before and after it
learnt to tell them apart (model/familiarity.py): made images (tests/made_images.py,
seeds the tests do not use), scikit-image's everyday and scientific photos, and the
cost on the Flickr8k test photos. The shipped model, beam 3, the narrator as shipped;
"before" is the same narrator with the familiarity left out.

Each description is counted as one of: a scene said plainly (the caption, for a made
image always false), "possibly ...", a grounded "a photo of ...", or "I can't tell"; and,
now, "read as text": an unfamiliar photo is read for text (assistant/seeing.py), and said
as a page when words fill it.

    .venv/bin/python benchmarks/unfamiliar.py [--model LABEL=CHECKPOINT ...]

With --model, models not shipped are scored beside the shipped one on the same made images and
scikit-image photos: a self-critical reward can make a model surer of its captions everywhere,
and then its doubt, learnt on photos like the training ones, no longer reaches the others.
"""
import argparse
import sys
from collections import Counter
from dataclasses import replace

import numpy as np

from common import ROOT, two_cores, write_table

sys.path.insert(0, str(ROOT / "tests"))
SEEDS = range(100, 130)          # the tests use seeds 1-7
KINDS = ("scene said plainly", "possibly", "a photo of", "I can't tell")
NOW_KINDS = KINDS + ("read as text",)
SCIKIT_IMAGE = ("astronaut", "camera", "chelsea", "coffee", "rocket", "horse", "page", "text", "coins", "moon",
                "hubble_deep_field", "retina", "immunohistochemistry", "cell", "brick", "grass", "gravel",
                "clock", "logo", "colorwheel")


def kind(words: str) -> str:
    if words.startswith("An image of a screen or document"):
        return "read as text"
    if words.startswith("I can't tell"):
        return "I can't tell"
    if words.startswith("a photo of"):
        return "a photo of"
    return "possibly" if words.startswith("possibly ") else "scene said plainly"


def shares(said: list[str], kinds=KINDS) -> list[str]:
    counts = Counter(kind(s) for s in said)
    return [f"{100 * counts[k] / len(said):.0f} %" for k in kinds]


def reader(checkpoint=None):
    """(described, narration, captioner) for one model, as the assistant has them. described(images) gives
    (now, before, what Iris says now): each photo's description with and without the familiarity check, and
    what Iris says, which reads a photo for text first when it is unfamiliar or shows paper."""
    from assistant.commands import _narration
    from assistant.events import CaptionWords, Described, Request
    from assistant.ocr import Ocr
    from assistant.seeing import Seer, captioner_words
    from assistant.layout import main_colours
    from config import load
    from model.captioner import Captioner
    captioner = Captioner(checkpoint, "cpu", beam_size=3)
    narration = _narration(load(None), captioner)
    seer = Seer(captioner_words(captioner), Ocr)

    def described(images):
        caps = []
        for i in range(0, len(images), 16):
            caps += captioner.caption(images[i:i + 16])
        now = [Described("file", c.text, c.score, concepts=c.concepts, novelty=c.novelty, colours=main_colours(im),
                         support=c.support, shorter=c.shorter) for c, im in zip(caps, images)]
        pages = [seer.page_in_photo(CaptionWords.of(c), im, Request("file"), {}) for c, im in zip(caps, images)]
        said = [narration.words(p) if p else narration.photo_words(d) for p, d in zip(pages, now)]
        return now, [replace(d, novelty=None) for d in now], said

    return described, narration, captioner


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", action="append", default=[], metavar="LABEL=CHECKPOINT",
                    help="also say what this model (not shipped) says of the made images and scikit-image's photos "
                         "(repeatable)")
    args = ap.parse_args()
    two_cores()
    from PIL import Image
    from assistant.events import unfamiliar
    from made_images import FAMILIES, made
    described, narration, captioner = reader()

    rows, made_before, made_said = [], [], []
    for family in FAMILIES:
        now, before, said = described([made(family, s) for s in SEEDS])
        made_before += before
        made_said += said
        share = np.mean([unfamiliar(d.novelty) for d in now])
        rows.append([family, len(now), f"{100 * share:.0f} %", *shares([narration.photo_words(d) for d in before]),
                     *shares(said, NOW_KINDS)])
        print(rows[-1], flush=True)

    from model.concepts import _wordnet, false_subject, thing_noun
    from model.data import DEFAULT_DATA, load_captions, split
    test = split(load_captions(DEFAULT_DATA), "test")
    now, before, said = described([Image.open(DEFAULT_DATA / "images" / r["image"]) for r in test])
    gated = [i for i, d in enumerate(now) if unfamiliar(d.novelty)]
    rows.append(["Flickr8k test photos", len(now), f"{100 * len(gated) / len(now):.1f} %",
                 *shares([narration.photo_words(d) for d in before]), *shares(said, NOW_KINDS)])
    kind_of = thing_noun(_wordnet())
    wrong = [false_subject(now[i].caption, test[i]["captions"], kind_of) for i in gated]
    header = ["images", "n", "unfamiliar"] + [f"before: {k}" for k in KINDS] + [f"now: {k}" for k in NOW_KINDS]
    notes = (f"Of the {len(gated)} Flickr8k test photos now called unfamiliar, the caption would have named a "
             f"person, animal or thing no reference mentions for {sum(wrong)}. Unfamiliar: the photo's pooled "
             f"features are further from the training photos' than 99 % of val photos are (Mahalanobis distance "
             f"{captioner.familiar.limit:.1f}).")
    write_table("unfamiliar.md", "What Iris says about images unlike its training photos: made images (30 of each "
                "family, tests/made_images.py) and the Flickr8k test photos, shipped model, beam 3. Before = the same "
                "narrator without the familiarity check.", header, rows, notes)

    others = {label: reader(path)[:2] for label, path in (m.split("=", 1) for m in args.model)}
    if others:
        made_images = [made(family, s) for family in FAMILIES for s in SEEDS]
        rows = []
        for label, (own, own_narration) in {"shipped": (None, narration), **others}.items():
            before, said = (made_before, made_said) if own is None else own(made_images)[1:]
            counts = [Counter(kind(own_narration.photo_words(d)) for d in before), Counter(kind(w) for w in said)]
            rows.append([label, *(str(c[k]) for c in counts for k in ("scene said plainly", "possibly"))])
            print(rows[-1], flush=True)
        write_table("unfamiliar.md", f"The same {len(made_images)} made images, for models not shipped beside the "
                    "shipped one: how many each says as a scene, plainly or with 'possibly' (always false of a made "
                    "image). 'Caption and doubt alone': without the familiarity check, which shows how far the "
                    "model's own doubt reaches beyond photos like its training ones.",
                    ["model", "caption and doubt alone: plainly", "caption and doubt alone: possibly",
                     "as Iris says it: plainly", "as Iris says it: possibly"], rows, append=True)

    try:
        from skimage import data as skdata
    except ImportError:
        print("scikit-image is not installed: its photos are left out")
        return
    names, images = [], []
    for n in SCIKIT_IMAGE:
        try:
            a = np.asarray(getattr(skdata, n)())
        except Exception as e:       # noqa: BLE001 - a few are fetched on first use; nothing is downloaded here
            print(f"skimage.data.{n} left out ({type(e).__name__})")
            continue
        names.append(n)
        images.append(Image.fromarray(a if a.dtype == np.uint8 else (255 * a / max(1, a.max())).astype(np.uint8)))
    now, before, said = described(images)
    theirs = [own(images)[2] for own, _ in others.values()]
    photo_rows = [[n, f"{d.novelty:.2f}", narration.photo_words(b), words, *(t[i] for t in theirs)]
                  for i, (n, d, b, words) in enumerate(zip(names, now, before, said))]
    write_table("unfamiliar.md", "scikit-image's photos (skimage.data), each: its novelty (1 or more: unfamiliar) "
                "and what Iris says" + (", and what the models not shipped would say" if others else "") + ".",
                ["photo", "novelty", "before", "now", *others], photo_rows, append=True)


if __name__ == "__main__":
    main()
