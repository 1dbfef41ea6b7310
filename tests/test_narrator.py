"""The narrator's policy, with fake results in and sentences out (no model, no X server):
hedging, prefixes, burst summaries, catching up, and what Repeat repeats."""
import math
from pathlib import Path

from assistant.events import Described, Failed
from assistant.narrator import NOTHING_YET, Narration
from assistant.problems import Problem

SURE, UNSURE = math.log(0.6), math.log(0.2)


def narration():
    return Narration(hedge_below=0.38, burst_seconds=2.0)


def photo(source="folder", caption="a dog runs on the grass", score=SURE, name="a.jpg"):
    return Described(source, caption, score, path=Path("/photos") / name if source in ("folder", "catch-up") else None)


def test_unsure_captions_are_hedged_and_sure_ones_are_not():
    n = narration()
    assert n.photo_words(photo(score=SURE)) == "a dog runs on the grass"
    assert n.photo_words(photo(score=UNSURE)) == "possibly a dog runs on the grass"
    [u] = n.hear(photo("screen", score=UNSURE), now=0)
    assert u.text == "possibly a dog runs on the grass" and u.interrupt


def test_clipboard_images_are_named_as_such():
    [u] = narration().hear(photo("clipboard"), now=0)
    assert u.text == "Clipboard image: a dog runs on the grass"


def test_a_burst_is_said_once_when_the_folder_has_been_quiet_and_not_while_photos_still_arrive():
    n = narration()
    for i in range(3):
        assert n.hear(photo(name=f"{i}.jpg", caption=f"photo number {i}"), now=i * 0.5) == []
    n.hear(Failed("folder", "not an image, or a format Iris cannot read", Path("/photos/x.jpg")), now=1.2)
    assert n.due(now=2.5) == []                     # 1.3 s of quiet: not yet
    assert n.due(now=9, hold=True) == []            # quiet, but more photos are queued
    [u] = n.due(now=9)
    assert u.text == "3 new photos; the first: photo number 0. 1 new file could not be read."
    assert not u.interrupt                          # a summary never cuts off a screen description
    assert n.due(now=20) == []                      # said once


def test_photos_saved_while_iris_was_off_are_summarised_as_such():
    n = narration()
    n.hear(photo("catch-up", name="a.jpg", caption="a cat on a sofa"), now=0)
    n.hear(photo("catch-up", name="b.jpg"), now=0)
    n.hear(photo("catch-up", name="c.jpg"), now=0)
    [u] = n.due(now=5)
    assert u.text == "3 photos arrived while Iris was off; the first: a cat on a sofa."
    n.hear(photo("catch-up", caption="a cat on a sofa"), now=10)
    assert n.due(now=15)[0].text == "A photo arrived while Iris was off: a cat on a sofa."


def test_repeat_says_the_last_description_never_a_status_message():
    n = narration()
    assert n.repeat().text == NOTHING_YET
    n.ready([], "Control Alt D", tray=True)         # the ready message is not a description
    assert n.repeat().text == NOTHING_YET
    n.hear(photo("screen"), now=0)
    n.status("Watching paused.")
    n.status("Speech off.", mute_after=True)
    assert n.repeat().text == "a dog runs on the grass"
    n.hear(photo(name="b.jpg", caption="two children play"), now=1)
    n.due(now=10)
    assert n.repeat().text == "New photo: two children play."


def test_every_result_is_printed_with_its_path_once_and_failures_say_why():
    n = narration()
    assert n.printed(photo()) == "[folder] /photos/a.jpg: a dog runs on the grass"
    assert n.printed(Failed("folder", "empty file (0 bytes)", Path("/photos/e.jpg"))) == \
        "[folder] /photos/e.jpg: error: empty file (0 bytes)"
    [u] = n.hear(Failed("screen", "could not be described (RuntimeError: boom)"), now=0)
    assert u.text == "Sorry, the screen could not be described."
    assert "RuntimeError" not in u.text


def test_ready_offers_only_the_controls_that_work_and_says_problems_plainly():
    problems = [Problem("Keyboard shortcuts do not work here; use the tray menu.",
                        "keyboard shortcuts are not available (ImportError: failed to acquire X connection)")]
    u = Narration.ready(problems, None, tray=True)
    assert u.text == ("Iris is ready. Use the tray menu to describe the screen. "
                      "Keyboard shortcuts do not work here; use the tray menu.")
    assert "Error" not in u.text and "Press" not in u.text
    assert Narration.ready([], "Control Alt D", tray=False).text == \
        "Iris is ready. Press Control Alt D to describe the screen."
