"""Describe screen and Read all text as a user meets them: real windows with known text
under a real window manager (openbox on Xvfb), real key presses, the running
assistant, its printed words and its real espeak-ng WAVs."""
import re
import shutil
import subprocess
import sys
import time

from conftest import FLICKR, open_window
from test_assistant import _watch_toml, utterances, xdotool

LETTER = ["The quarterly report is due on Friday.", "1. Remember to email Alice about the invoice.",
          "2. Bring the signed contract to the meeting."]     # aligned gaps after "1." are not columns


def said(s) -> list[str]:
    return [l.removeprefix("Iris says: ") for l in s.lines if l.startswith("Iris says: ")]


def open_chromium(page, profile, size: tuple[int, int], title: str):
    """A real Chromium window at the top left showing a local page, with a fresh profile and nothing fetched."""
    return open_window("chromium", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
                       "--disable-background-networking", "--disable-component-update", "--disable-quic",
                       f"--user-data-dir={profile}", "--window-position=0,0", f"--window-size={size[0]},{size[1]}",
                       "--allow-file-access-from-files", page.as_uri(), title=title, timeout=60)


def test_describe_screen_says_the_window_title_first_then_its_text_and_read_all_reads_everything(
        xvfb, window_manager, service_factory, tmp_path):
    s = service_factory()
    s.wait_for("Iris is ready")
    script = "; ".join(f"echo '{line}'" for line in LETTER) + "; " + \
        "; ".join(f"echo 'Extra line number {i} of the notes.'" for i in range(6)) + "; sleep 120"
    term = open_window("xterm", "-T", "Budget notes", "-geometry", "90x24+40+40", "-fa", "DejaVu Sans Mono", "-fs",
                       "12", "-e", "bash", "-c", script, title="Budget notes")
    try:
        before = len(said(s))
        xdotool("key", "ctrl+alt+d")
        s.wait_for("[screen]", timeout=60)
        title, description = said(s)[before:before + 2]
        assert title == "Budget notes, terminal."
        assert description.startswith("Text: The quarterly report is due on Friday. "
                                      "1. Remember to email Alice about the invoice. "
                                      "2. Bring the signed contract to the meeting."), description
        assert "more lines" in description
        assert "photo" not in description                # a terminal is not a picture: no scene is made up
        xdotool("key", "ctrl+alt+t")
        s.wait_for("[screen] All text:", timeout=60)
        everything = said(s)[-1]
        assert everything.startswith("All text: The quarterly report")
        assert "Extra line number 5 of the notes." in everything
        xdotool("key", "ctrl+alt+r")                     # Repeat works on what was read
        s.wait_for(f"Iris says: {everything}", count=2, timeout=20)
        deadline = time.time() + 30
        while len(utterances(tmp_path)) < 5 and time.time() < deadline:
            time.sleep(0.1)
        from test_assistant import assert_real_speech
        for wav in utterances(tmp_path)[-3:]:
            assert_real_speech(wav)
    finally:
        term.kill()
    assert s.stop() == 0


DIALOG = """
import tkinter as tk
root = tk.Tk(); root.title("Printer error")
root.attributes("-type", "dialog")
tk.Label(root, text="The printer is out of paper.", font=("DejaVu Sans", 14)).pack(padx=30, pady=20)
frame = tk.Frame(root); frame.pack(pady=10)
for label in ("Cancel", "Retry"):
    tk.Button(frame, text=label, font=("DejaVu Sans", 12)).pack(side="left", padx=10)
root.geometry("+300+200"); root.mainloop()
"""


def test_a_dialog_is_named_as_one_and_its_message_and_buttons_are_read(xvfb, window_manager, service_factory):
    s = service_factory()
    s.wait_for("Iris is ready")
    dialog = open_window(sys.executable, "-c", DIALOG, title="Printer error")
    try:
        xdotool("key", "ctrl+alt+d")
        s.wait_for("[screen]", timeout=60)
        title, description = said(s)[-2:]
        assert title == "Printer error, dialog."
        assert "The printer is out of paper." in description
        assert "Cancel" in description and "Retry" in description, description
        assert "photo" not in description
    finally:
        dialog.kill()
    assert s.stop() == 0


def test_a_page_with_a_photo_gets_its_text_read_and_only_the_photo_captioned(xvfb, window_manager, service_factory,
                                                                             tmp_path):
    photo = sorted((FLICKR / "orig1000_s256").glob("*.jpg"))[3]
    page = tmp_path / "page.html"
    page.write_text(f"""<!doctype html><html><head><title>Garden club news</title></head>
<body style="margin:0;font-family:'DejaVu Sans';font-size:18px;background:#fff;color:#111">
<div style="padding:30px;width:560px"><h1>Garden club news</h1><p>The spring market opens on Saturday morning.</p>
<p>Members bring seedlings, tools and coffee.</p></div>
<img src="{photo.as_uri()}" style="position:absolute;left:700px;top:40px;width:400px;height:300px"></body></html>""")
    s = service_factory()
    s.wait_for("Iris is ready")
    browser = open_chromium(page, tmp_path / "profile", (1000, 700), "Garden club news")
    try:
        xdotool("key", "ctrl+alt+d")
        s.wait_for("[screen]", timeout=90)
        title, description = said(s)[-2:]
        assert title.startswith("Garden club news") and title.endswith("web browser.")
        # The page's heading, then what it heads, however many bars and bubbles the browser shows above it.
        assert description.startswith("Text: Heading: Garden club news. The spring market opens on Saturday "
                                      "morning."), description
        # The photo, and only it: its caption, or only what the classifier is sure of when the caption is doubted.
        photos = re.findall(r", a photo(?:: | of )(.*)", description)
        assert len(photos) == 1 and len(photos[0].split()) >= 2, description
    finally:
        browser.kill()
        browser.wait(10)
    assert s.stop() == 0


def test_a_photographed_page_shown_in_a_window_is_read_not_captioned(xvfb, window_manager, service_factory, tmp_path):
    """scikit-image's photo of a book page, shown on a web page: as a file it is read, and shown in a window it
    was only "a photo: I can't tell what this image shows". A photo region the classifier sees as paper, or that is
    unlike every training photo, is read as a whole photo is."""
    from PIL import Image
    from skimage import data
    from model.checkpoint import SHIPPED
    shot = tmp_path / "notes.png"
    grey = Image.fromarray(data.page())
    grey.resize((grey.width * 2, grey.height * 2), Image.LANCZOS).convert("RGB").save(shot)
    page = tmp_path / "notes.html"
    page.write_text(f"""<!doctype html><html><head><title>Lecture notes</title></head>
<body style="margin:0;font-family:'DejaVu Sans';font-size:18px;background:#fff;color:#111">
<div style="padding:20px 30px"><h1>Lecture notes</h1><p>Here is the page we photographed after class.</p></div>
<img src="{shot.as_uri()}" style="margin-left:60px"></body></html>""")
    s = service_factory(checkpoint=SHIPPED)     # whether a photo is like the training photos is the real model's
    s.wait_for("Iris is ready")
    browser = open_chromium(page, tmp_path / "profile", (1000, 760), "Lecture notes")
    try:
        xdotool("key", "ctrl+alt+d")
        s.wait_for("[screen]", timeout=90)
        title, description = said(s)[-2:]
        assert title.startswith("Lecture notes") and title.endswith("web browser.")
        assert "Here is the page we photographed after class." in description, description
        read = description.split("an image with text: ", 1)
        assert len(read) == 2, description
        assert "Region-based segmentation" in read[1] and "determine markers of the coins" in read[1], description
        assert "a photo" not in description, description        # the page is not also captioned
    finally:
        browser.kill()
        browser.wait(10)
    assert s.stop() == 0


def test_screenshots_on_the_clipboard_and_in_a_folder_are_read_as_screens_and_a_blank_image_is_called_blank(
        xvfb, window_manager, service_factory, tmp_path):
    from PIL import Image
    folder = tmp_path / "photos"
    folder.mkdir()
    s = service_factory(_watch_toml(folder))
    s.wait_for("Iris is ready")
    term = open_window("xterm", "-T", "Shot", "-geometry", "80x10+0+0", "-fa", "DejaVu Sans Mono", "-fs", "14", "-e",
                       "bash", "-c", "echo 'Invoice number 4471 is overdue.'; echo 'Please call the office.'; sleep 60",
                       title="Shot")
    from assistant.screen import Screenshots
    shot, shots = tmp_path / "shot.png", Screenshots()
    try:
        shots.grab("all")[0].save(shot)
    finally:
        shots.stop()
    term.kill()
    server = subprocess.Popen(["xclip", "-selection", "clipboard", "-t", "image/png", "-i", str(shot)])
    try:
        s.wait_for("Iris says: Clipboard image:", timeout=60)
        clip = [l for l in said(s) if l.startswith("Clipboard image:")][0]
        assert "An image of a screen or document. Text:" in clip and "Invoice number 4471 is overdue." in clip, clip
        shutil.copy(shot, folder / "screenshot.png")
        s.wait_for("Iris says: New photo:", timeout=60)
        Image.new("RGB", (640, 480), (0, 0, 0)).save(folder / "black.png")
        Image.new("RGB", (1, 1), (200, 30, 30)).save(folder / "dot.png")
        s.wait_for("Iris says: 2 new photos", timeout=60)
        out = s.output
        assert f"[folder] {folder / 'screenshot.png'}: An image of a screen or document. Text:" in out
        assert f"[folder] {folder / 'black.png'}: a blank black image" in out
        assert f"[folder] {folder / 'dot.png'}: a tiny image of 1 by 1 pixels" in out
    finally:
        server.terminate()
        server.wait(10)
    assert s.stop() == 0


def test_one_display_connection_serves_every_screenshot_and_each_shows_the_screen_as_it_is_now(xvfb, window_manager):
    """The service keeps its screenshot connection open between key presses (opening one costs more than the
    shot): a second shot must still show what changed, and after stop() the next shot connects again."""
    import numpy as np
    from assistant.screen import Screenshots
    shots = Screenshots()
    assert shots.start() == []
    before = np.asarray(shots.grab()[0])
    term = open_window("xterm", "-T", "Fresh", "-geometry", "60x10+0+0", "-bg", "red", "-e", "sleep 60", title="Fresh")
    try:
        time.sleep(0.5)
        after = np.asarray(shots.grab()[0])
        red = (after[..., 0] > 200) & (after[..., 1] < 60) & (after[..., 2] < 60)
        was_red = (before[..., 0] > 200) & (before[..., 1] < 60) & (before[..., 2] < 60)
        assert red.sum() > 10_000 and was_red.sum() == 0, (red.sum(), was_red.sum())
        shots.stop()
        again = np.asarray(shots.grab()[0])                # connects anew
        assert ((again[..., 0] > 200) & (again[..., 1] < 60) & (again[..., 2] < 60)).sum() > 10_000
    finally:
        term.kill()
        shots.stop()


def test_with_no_window_open_no_title_is_named_not_even_the_window_manager_s_own(xvfb, window_manager, tmp_path):
    """openbox keeps a hidden window titled "Openbox" that takes the focus when no application has it: naming
    it would tell the user of a window that is not there. The service keeps one connection for every look
    (FocusedWindow): it must see windows open, be renamed and close, as a fresh connection does."""
    from assistant.window import FocusedWindow, active_window
    looker = FocusedWindow()
    assert looker.start() == []
    try:
        assert looker.get() is None and active_window() is None
        go = tmp_path / "rename"                                    # the terminal renames itself when this exists
        rename = f"while [ ! -e {go} ]; do sleep 0.05; done; printf '\\033]2;Renamed\\007'; sleep 60"
        term = open_window("xterm", "-T", "Notes", "-e", "sh", "-c", rename, title="Notes")
        try:
            assert looker.get().title == "Notes" == active_window().title
            connection = looker._connection
            go.touch()
            end = time.time() + 10
            while looker.get().title != "Renamed" and time.time() < end:
                time.sleep(0.1)
            assert looker.get().title == "Renamed" and looker._connection is connection     # the same connection
        finally:
            term.kill()
            term.wait(10)
        end = time.time() + 10
        while looker.get() is not None and time.time() < end:
            time.sleep(0.1)
        assert looker.get() is None and active_window() is None
        looker.stop()
        assert looker._connection is None
        term = open_window("xterm", "-T", "Again", "-e", "sleep 60", title="Again")
        try:
            assert looker.get().title == "Again"                   # connects anew after stop()
        finally:
            term.kill()
            term.wait(10)
    finally:
        looker.stop()


def test_a_terminals_small_bitmap_text_is_read_and_its_cursor_block_is_not(xvfb, window_manager):
    """xterm's default font is a 6x13 bitmap: read at its own size Tesseract heard "Hilk" for "Milk" and "Is"
    for "ls", and the cursor block after the last line came out as a letter ("i", "ff"). Light and dark
    themes, the window's part of a real screenshot, as the hotkey reads it."""
    from assistant.ocr import Ocr
    from assistant.screen import Screenshots, window_part
    from assistant.window import active_window
    script = "echo 'Milk, eggs, bread'; echo 'ls -la done'; printf 'Type here: '; sleep 60"
    ocr, shots = Ocr(), Screenshots()
    try:
        for name, colours in (("Light", ()), ("Dark", ("-bg", "black", "-fg", "white"))):
            term = open_window("xterm", "-T", name, "-geometry", "60x8+20+20", *colours, "-e", "bash", "-c", script,
                               title=name)
            try:
                image, origin = shots.grab("all")
                part = window_part(image, origin, active_window().box)
                lines = [l.text for l in ocr.read(part)]
            finally:
                term.kill()
                term.wait(10)
            assert lines[:2] == ["Milk, eggs, bread", "ls -la done"], (name, lines)
            # the prompt's colon may come out as "?" at this size; what must not come is the cursor as a letter
            assert len(lines) == 3 and lines[2].rstrip(":?") == "Type here", (name, lines)
    finally:
        shots.stop()


def test_bold_letters_on_a_page_are_not_taken_for_a_cursor_block():
    """Bold "l", "I", "!" and "1" are solid bars too; painting them over (and reading the page at twice its size,
    as for a terminal) cost rendered pages words. A cursor is a character cell: wider, and 13 pixels or more."""
    from PIL import Image, ImageDraw, ImageFont
    from assistant.ocr import _cursors
    page = Image.new("L", (900, 700), 255)
    draw = ImageDraw.Draw(page)
    y = 10
    for size in range(9, 40, 3):
        font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", size)
        draw.text((10, y), "Illinois 1! Il lI || Hi: list", font=font, fill=0)
        y += size + 12
    assert _cursors(page) == []
    draw.rectangle((600, 600, 607, 615), fill=0)          # an 8 x 16 cell, as a 16-pixel terminal font's cursor
    assert len(_cursors(page)) == 1
