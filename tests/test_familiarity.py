"""Images unlike every photo a model learnt from (gradients, noise, drawings) are told apart
and never get a scene caption; photos like the training ones still do."""
import numpy as np
import torch
from PIL import Image

from conftest import FLICKR, run_main
from made_images import FAMILIES, made
from model.familiarity import WITHIN, Familiarity, fit


def test_the_limit_keeps_all_but_a_small_share_of_familiar_features_and_anything_far_is_beyond_it():
    rng = np.random.default_rng(0)
    mix = rng.normal(size=(64, 64))                            # correlated features, as a CNN's are
    train, val, fresh = (rng.normal(size=(n, 64)) @ mix for n in (3000, 1000, 4000))
    f = fit(train, val)
    inside = (f.distance(torch.from_numpy(fresh)) < f.limit).float().mean().item()
    assert abs(inside - WITHIN) < 0.015                       # the share the limit promises, on unseen samples
    far = 3 * fresh[:100]                                     # the same directions, three times as far out
    assert min(f.novelty(torch.from_numpy(far)[:, None, :])) >= 1
    again = Familiarity.from_saved(f.saved())                 # as read back from a checkpoint
    x = torch.from_numpy(fresh[:50])[:, None, :]
    assert np.allclose(again.novelty(x), f.novelty(x), atol=1e-3)
    assert Familiarity.from_saved({}) is None                 # a checkpoint calibrated before this: no gate


def test_the_shipped_model_calls_made_images_unfamiliar_and_test_photos_familiar():
    from model.captioner import Captioner
    captioner = Captioner(None, "cpu", beam_size=1)
    assert captioner.familiar is not None
    seeds = (1, 2, 3, 4)
    novelty = np.array([c.novelty for c in captioner.caption([made(f, s) for f in FAMILIES for s in seeds])])
    by_family = dict(zip(FAMILIES, novelty.reshape(len(FAMILIES), len(seeds))))
    # Smooth or structureless images are never like a photo; flat shapes and a dark fractal can come close
    # to one (benchmarks/results/unfamiliar.md), so those are held to most, not all.
    for family in ("linear gradient", "radial gradient", "noise", "blurred noise", "stripes and checks"):
        assert by_family[family].min() >= 1, (family, by_family[family])
    assert (novelty >= 1).mean() >= 0.8, by_family
    # Flickr8k test photos were never seen in training; the limit was set on val so that few of those pass it.
    from model.data import DEFAULT_DATA, load_captions, split
    photos = [Image.open(FLICKR / "images" / r["image"]) for r in split(load_captions(DEFAULT_DATA), "test")[:60]]
    unfamiliar = sum(c.novelty >= 1 for c in captioner.caption(photos))
    assert unfamiliar <= 3, unfamiliar


def test_describe_says_it_cannot_tell_for_made_and_scientific_images_and_grounds_a_cat(tmp_path):
    from skimage import data
    files = []
    for family in ("linear gradient", "noise", "plasma"):
        files.append(tmp_path / f"{family.replace(' ', '_')}.png")
        made(family, 7).save(files[-1])
    for name in ("moon", "coins"):                  # real photos, but nothing like the training photos
        files.append(tmp_path / f"{name}.png")
        Image.fromarray(getattr(data, name)()).save(files[-1])
    cat = tmp_path / "chelsea.png"                  # unlike them too, but the classifier knows a cat
    Image.fromarray(data.chelsea()).save(cat)
    photo = sorted((FLICKR / "images").glob("*.jpg"))[0]
    r = run_main("describe", *map(str, files), str(cat), str(photo), timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.strip().splitlines()
    said = {line.split(": ", 1)[0]: line.split(": ", 1)[1] for line in lines if ": " in line}
    for f in files:
        # A gradient may also be seen as drawn (most pixels the colour of their neighbours): as true, no scene.
        honest = ("I can't tell what this image shows",) + (("A drawing or graphic, with no text",)
                                                            if "gradient" in f.name else ())
        assert said[str(f)].startswith(honest), r.stdout
    assert said[str(tmp_path / "moon.png")] == "I can't tell what this image shows; it is mostly grey and dark grey"
    assert said[str(cat)] == "a photo of a cat", r.stdout
    assert "image shows" not in said[str(photo)], r.stdout


def test_the_running_assistant_never_speaks_a_scene_for_a_gradient_even_from_its_cache(xvfb, service_factory,
                                                                                    tmp_path):
    import os
    import sqlite3
    from model.checkpoint import SHIPPED
    folder = tmp_path / "photos"
    folder.mkdir()
    s = service_factory(f'[folders]\nwatch = ["{folder}"]\nsettle_seconds = 0.5\nburst_seconds = 1.5\n',
                        checkpoint=SHIPPED, beam=3)
    s.wait_for("Iris is ready", timeout=120)
    for i, name in enumerate(("gradient.png", "again.png")):   # the same pixels twice: the second is the cache's
        made("radial gradient", 11).save(tmp_path / name)
        os.replace(tmp_path / name, folder / name)
        s.wait_for(f"[folder] {folder / name}: I can't tell what this image shows", timeout=90)
        s.wait_for("Iris says: New photo: I can't tell what this image shows", count=i + 1, timeout=30)
    assert s.stop() == 0
    db = sqlite3.connect(tmp_path / "xdg-data" / "iris" / "history.sqlite3")
    rows = db.execute("SELECT image_hash, novelty FROM captions WHERE path LIKE ?", (f"{folder}%",)).fetchall()
    db.close()
    assert len(rows) == 2 and rows[0][0] == rows[1][0] and min(r[1] for r in rows) >= 1, rows
