"""A labelled set of screens rendered from HTML by headless Chromium: articles, forms,
tables, inboxes, dialogs, galleries, code and terminal-like pages, with Flickr8k
val/test photos placed at known boxes. Each screen comes with its truth: the kind,
every visible line of text in reading order, and the photo boxes.

The text is drawn from a seeded word list, so every seed gives other screens: the set
is generated, never committed. Light and dark themes, 1280x800 and 1920x1080, two
font scales."""
import html
import json
import random
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

WORDS = ("report budget meeting invoice travel garden library window account payment update project team review "
         "summer winter station river market coffee ticket order delivery schedule weekend family doctor school "
         "museum concert weather morning evening holiday printer network folder document message address phone "
         "office kitchen bicycle harbour mountain village council election science history season recipe").split()
NAMES = "Alice Bruno Chen Dana Emil Fatima Grace Hugo Ines Jonas Kofi Lena Mateo Nora Omar Priya".split()
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--disable-quic",
                  "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--force-device-scale-factor=1"]


@dataclass
class Screen:
    name: str
    kind: str                       # article, form, table, inbox, dialog, gallery, code, terminal
    size: tuple[int, int]
    lines: list[str]                # visible text, in reading order
    photos: list[tuple[int, int, int, int]] = field(default_factory=list)   # left, top, width, height
    photo_files: list[str] = field(default_factory=list)
    html: str = ""


def _sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    return (" ".join(words)).capitalize() + "."


THEMES = {"light": ("#ffffff", "#1a1a1a", "#f0f2f5", "#0b5cad"), "dark": ("#1e1f22", "#e8e8e8", "#2b2d31", "#7ab7ff")}


def _page(body: str, size, theme: str, scale: float, mono: bool = False) -> str:
    bg, fg, panel, accent = THEMES[theme]
    font = "DejaVu Sans Mono" if mono else "DejaVu Sans"
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
html, body {{ margin: 0; width: {size[0]}px; height: {size[1]}px; overflow: hidden; background: {bg}; color: {fg};
  font-family: '{font}'; font-size: {round(16 * scale)}px; line-height: 1.45; }}
.panel {{ background: {panel}; }} a, .accent {{ color: {accent}; }}
h1 {{ font-size: 2em; margin: 0 0 0.5em 0; }} h2 {{ font-size: 1.3em; margin: 0.6em 0 0.3em 0; }}
p {{ margin: 0 0 0.6em 0; }} .abs {{ position: absolute; }}
button {{ font: inherit; padding: 0.4em 1.2em; }} input {{ font: inherit; width: 20em; padding: 0.3em; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #888; padding: 0.3em 1em; text-align: left; }}
</style></head><body>{body}</body></html>"""


def _img(path: Path, box) -> str:
    x, y, w, h = box
    return f'<img class="abs" src="file://{path}" style="left:{x}px;top:{y}px;width:{w}px;height:{h}px;object-fit:cover">'


def make_screen(kind: str, seed: int, photos: list[Path], size=(1280, 800), theme="light", scale=1.0) -> Screen:
    rng = random.Random(seed)
    esc = html.escape
    W, H = size
    lines: list[str] = []
    boxes: list[tuple[int, int, int, int]] = []
    used: list[str] = []

    def photo(box):
        p = photos[len(used) % len(photos)]
        used.append(str(p))
        boxes.append(box)
        return _img(p, box)

    if kind == "article":
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 6))).title()
        paras = [_sentence(rng, rng.randint(6, 10)) for _ in range(rng.randint(4, 8))]
        lines = [title] + paras
        pw = rng.randint(220, 380)
        body = (f'<div style="padding:40px 60px;width:{W - pw - 180}px"><h1>{esc(title)}</h1>'
                + "".join(f"<p>{esc(p)}</p>" for p in paras) + "</div>" + photo((W - pw - 60, 60, pw, round(pw * 0.75))))
    elif kind == "form":
        title = rng.choice(["Sign in to your account", "Create an account", "Contact us", "Delivery address"])
        fields = rng.sample(["Email address", "Password", "Full name", "Phone number", "Street", "City"], 3)
        button = rng.choice(["Sign in", "Continue", "Send", "Save"])
        lines = [title] + fields + [button]
        body = (f'<div class="panel" style="margin:60px auto;width:560px;padding:40px"><h1>{esc(title)}</h1>'
                + "".join(f"<p>{esc(f)}<br><input></p>" for f in fields) + f"<button>{esc(button)}</button></div>")
    elif kind == "table":
        title = f"{rng.choice(['Monthly', 'Weekly', 'Yearly'])} {rng.choice(['budget', 'expenses', 'sales'])}"
        rows = [(rng.choice(WORDS).capitalize(), str(rng.randint(10, 990)), str(rng.randint(10, 990)))
                for _ in range(rng.randint(5, 9))]
        lines = [title, "Item Planned Spent"] + [" ".join(r) for r in rows]
        body = (f'<div style="padding:40px 60px"><h1>{esc(title)}</h1><table><tr><th>Item</th><th>Planned</th>'
                "<th>Spent</th></tr>" + "".join(f"<tr><td>{a}</td><td>{b}</td><td>{c}</td></tr>" for a, b, c in rows)
                + "</table></div>")
    elif kind == "inbox":
        mails = [(rng.choice(NAMES), _sentence(rng, rng.randint(3, 6))) for _ in range(rng.randint(5, 8))]
        lines = ["Inbox"] + [f"{n} {s}" for n, s in mails]
        body = ('<div style="padding:30px 50px"><h1>Inbox</h1>'
                + "".join(f'<p class="panel" style="padding:0.5em"><b>{n}</b> {esc(s)}</p>' for n, s in mails)
                + "</div>")
    elif kind == "dialog":
        message = rng.choice(["The printer is out of paper.", "Do you want to save your changes?",
                              "The file could not be opened.", "Your session will expire soon."])
        detail = _sentence(rng, rng.randint(5, 8))
        buttons = rng.choice([["OK"], ["Cancel", "Retry"], ["Don't Save", "Cancel", "Save"]])
        lines = [message, detail, " ".join(buttons)]
        body = (f'<div class="panel" style="position:absolute;left:{W // 2 - 260}px;top:{H // 2 - 120}px;width:520px;'
                f'padding:30px;border:2px solid #888"><h2>{esc(message)}</h2><p>{esc(detail)}</p><p>'
                + " ".join(f"<button>{esc(b)}</button>" for b in buttons) + "</p></div>")
    elif kind == "gallery":
        title = f"{rng.choice(NAMES)}'s photos"
        lines = [title]
        n = rng.randint(3, 6)
        cols = 3
        pw = min(300, (W - 120) // cols - 30)
        ph = round(pw * 0.7)
        imgs = []
        for i in range(n):
            x, y = 60 + (i % cols) * (pw + 30), 140 + (i // cols) * (ph + 70)
            if y + ph + 40 > H:
                break
            label = _sentence(rng, 3)
            lines.append(label)
            imgs.append(photo((x, y, pw, ph)) + f'<div class="abs" style="left:{x}px;top:{y + ph + 8}px">'
                        f"{esc(label)}</div>")
        body = f'<div style="padding:40px 60px"><h1>{esc(title)}</h1></div>' + "".join(imgs)
    elif kind in ("code", "terminal"):
        if kind == "code":
            fn = rng.choice(WORDS)
            lines = [f"def {fn}_total(items):", "    total = 0", "    for item in items:",
                     f"        total += item.{rng.choice(WORDS)}", "    return total"]
        else:
            lines = [f"$ ls {rng.choice(WORDS)}", " ".join(f"{rng.choice(WORDS)}.txt" for _ in range(4)),
                     f"$ cat {rng.choice(WORDS)}.txt", _sentence(rng, 6), "$"]
        body = ('<pre style="margin:30px 40px;font:inherit">' + esc("\n".join(lines)) + "</pre>")
        return Screen(f"{kind}-{seed}", kind, size, lines, html=_page(body, size, theme, scale, mono=True))
    else:
        raise ValueError(kind)
    return Screen(f"{kind}-{seed}", kind, size, lines, boxes, used, _page(body, size, theme, scale))


KINDS = ("article", "form", "table", "inbox", "dialog", "gallery", "code", "terminal")


def render(screens: list[Screen], out: Path) -> list[Path]:
    """Each screen's PNG, by headless Chromium; writes NAME.png and NAME.json (the truth) into out."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    out.mkdir(parents=True, exist_ok=True)
    pngs = []
    for s in screens:
        page = out / f"{s.name}.html"
        page.write_text(s.html)
        png = out / f"{s.name}.png"
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}",
                            f"--window-size={s.size[0]},{s.size[1]}", "--allow-file-access-from-files",
                            f"file://{page}"], check=True, capture_output=True, timeout=60)
        truth = {k: v for k, v in asdict(s).items() if k != "html"}
        (out / f"{s.name}.json").write_text(json.dumps(truth, indent=1))
        pngs.append(png)
    return pngs


def screen_set(photos: list[Path], seed: int = 0) -> list[Screen]:
    """Every kind in both themes, at both sizes and font scales, with different text for each."""
    rng = random.Random(seed)
    out = []
    for i, kind in enumerate(KINDS):
        for j, (theme, size, scale) in enumerate([("light", (1280, 800), 1.0), ("dark", (1920, 1080), 1.0),
                                                  ("light", (1920, 1080), 1.25), ("dark", (1280, 800), 1.25)]):
            chosen = rng.sample(photos, 6)
            out.append(make_screen(kind, seed * 1000 + i * 10 + j, chosen, size, theme, scale))
            out[-1].name = f"{kind}-{theme}-{size[0]}-{scale}-{seed}"
    return out
