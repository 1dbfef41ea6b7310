"""The narrator's policy, with fake results in and sentences out (no model, no X server):
hedging, prefixes, burst summaries, catching up, and what Repeat repeats."""
import math
from dataclasses import replace
from pathlib import Path

from assistant.events import Blank, Described, Failed, PhotoSeen, ScreenRead
from assistant.layout import Box
from assistant.narrator import NOTHING_YET, Narration
from assistant.ocr import TextLine
from assistant.problems import Problem
from assistant.window import WindowInfo

SURE, UNSURE, LOST = math.log(0.8), math.log(0.55), math.log(0.1)


def narration():
    return Narration(burst_seconds=2.0)      # doubt as confidence thresholds 0.6 and 0.5


def photo(source="folder", caption="a dog runs on the grass", score=SURE, name="a.jpg"):
    return Described(source, caption, score, path=Path("/photos") / name if source in ("folder", "catch-up") else None)


def test_unsure_captions_are_hedged_and_sure_ones_are_not():
    n = narration()
    assert n.photo_words(photo(score=SURE)) == "a dog runs on the grass"
    assert n.photo_words(photo(score=UNSURE)) == "possibly a dog runs on the grass"
    [u] = n.hear(photo("clipboard", score=UNSURE), now=0)
    assert u.text == "Clipboard image: possibly a dog runs on the grass" and u.interrupt


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
    page = ScreenRead("folder", (640, 560), (_line("Children play in the park on Sunday.", 500),), (), None, False,
                      path=Path("/photos/news.png"))
    n.hear(page, now=20)
    [u] = n.due(now=30)                           # a page's words end their own sentence: no second full stop
    assert u.text == "New photo: An image of a screen or document. Text: Children play in the park on Sunday."


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


def _line(text, top, height=16):
    return TextLine(text, Box(40, top, 300, height), height, 1)


def _screen(lines, photos=(), window=None, read_all=False, source="screen"):
    return ScreenRead(source, (1280, 800), tuple(lines), tuple(photos), window, read_all)


def test_the_window_title_comes_first_with_its_kind_only_where_the_window_says_so():
    n = narration()
    term = WindowInfo("Budget notes", "XTerm", ("NORMAL",), (0, 0, 800, 600))
    assert n.window_title(term).text == "Budget notes, terminal."
    assert n.window_title(WindowInfo("Save changes?", "Gedit", ("DIALOG",), (0, 0, 300, 200))).text == \
        "Save changes?, dialog."
    assert n.window_title(WindowInfo("Notes", "Mousepad", (), (0, 0, 800, 600))).text == "Notes."
    [u] = n.hear(_screen([_line("Hello world", 10)], window=term), now=0)
    assert not u.interrupt and u.text == "Text: Hello world."      # follows the title, never cuts it off


def test_a_long_screen_says_its_heading_first_then_a_few_lines_then_how_many_more():
    n = narration()
    lines = [_line("Quarterly report for", 10, height=32), _line("the north office", 44, height=32)] + \
        [_line(f"Line number {i}", 90 + 20 * i) for i in range(10)]
    text = n.words(_screen(lines))
    assert text == ("Text: Heading: Quarterly report for the north office. Line number 0. Line number 1. "
                    "Line number 2. 7 more lines.")
    everything = n.words(_screen(lines, read_all=True))
    assert everything.startswith("All text: Quarterly report for. the north office. Line number 0.")
    assert "Line number 9." in everything
    # Under a browser's tab strip and address bar, the heading is followed by what it heads, not by the bars.
    page = [_line("Garden club news x +", 5), _line("file:///tmp/page.html", 25)] + \
        [_line("Garden club news", 60, height=32)] + [_line(f"Paragraph {i}.", 110 + 20 * i) for i in range(5)]
    assert n.words(_screen(page)) == ("Text: Heading: Garden club news. Paragraph 0. Paragraph 1. Paragraph 2. "
                                      "4 more lines.")
    # However many bars and bubbles a browser shows above it, the page's heading is found, not the bars said.
    bars = ["Shared photo x +", "file:///tmp/trial/notes.html", "Sign in to Chromium?", "Sync and personalise",
            "Continue as guest", "You are using an unsupported command-line flag", "Dismiss"]
    crowded = [_line(t, 5 + 22 * i) for i, t in enumerate(bars)] + [_line("Shared photo", 180, height=32)] + \
        [_line(f"Paragraph {i}.", 230 + 20 * i) for i in range(5)]
    assert n.words(_screen(crowded)) == ("Text: Heading: Shared photo. Paragraph 0. Paragraph 1. Paragraph 2. "
                                         "9 more lines.")
    # A short page is said whole below its heading; the bars above it are counted, not said first.
    small = [_line("Notes x +", 5), _line("file:///tmp/notes.html", 25), _line("Notes", 60, height=32),
             _line("One.", 110), _line("Two.", 130), _line("Three.", 150)]
    assert n.words(_screen(small)) == "Text: Heading: Notes. One. Two. Three. 2 more lines."
    assert n.words(_screen([_line("Name:", 10), _line("Email:", 40)])) == "Text: Name: Email:"
    # A tall line far down the page heads a section: the screen's first lines are said, not that section.
    sections = [_line(f"Paragraph {i}.", 40 + 20 * i) for i in range(20)] + [_line("Appendix", 500, height=32)]
    assert n.words(_screen(sections)).startswith("Text: Paragraph 0. Paragraph 1. Paragraph 2. 18 more lines.")


def test_a_dialog_is_read_whole_and_photos_are_placed_and_hedged():
    n = narration()
    dialog = WindowInfo("Printer", "Xmessage", ("DIALOG",), (0, 0, 400, 200))
    lines = [_line(f"Message line {i}", 10 + 20 * i) for i in range(8)] + [_line("Cancel Retry", 200)]
    assert n.words(_screen(lines, window=dialog)).endswith("Message line 7. Cancel Retry.")
    photos = [PhotoSeen(Box(900, 60, 300, 200), "a dog runs", SURE), PhotoSeen(Box(40, 500, 300, 200), "a boat", UNSURE)]
    text = n.words(_screen([_line("Gallery", 10)], photos))
    assert text == ("Text: Gallery. At the top right, a photo: a dog runs. "
                    "At the bottom left, a photo: possibly a boat.")
    assert n.words(_screen([], [])) == "No text found."
    file_page = n.words(_screen([_line("Invoice", 10)], source="file"))
    assert file_page == "An image of a screen or document. Text: Invoice."


def test_blank_images_are_called_blank_and_the_history_can_leave_screen_text_out():
    n = narration()
    [u] = n.hear(Blank("clipboard", "a blank black image"), now=0)
    assert u.text == "Clipboard image: a blank black image"
    [u] = n.hear(Blank("screen", "a blank white image"), now=0)
    assert u.text == "A blank white image."
    screen = _screen([_line("Account number 1234", 10)], [PhotoSeen(Box(900, 60, 300, 200), "a cat", SURE)])
    assert "1234" in n.history_words(screen, keep_screen_text=True)
    kept = n.history_words(screen, keep_screen_text=False)
    assert "1234" not in kept and "a cat" in kept


def test_a_photo_on_a_screen_with_text_read_in_it_is_said_as_its_text_and_the_history_can_leave_it_out():
    n = narration()
    page = PhotoSeen(Box(100, 300, 700, 300), "a man is standing in front of a wall", SURE, (("pill bottle", 0.5),),
                     1.2, text=(_line("Region-based segmentation", 310, 30), _line("Let us first determine", 350),
                                _line("markers of the coins", 370)))
    screen = _screen([_line("Lecture notes", 10)], [page])
    said = n.words(screen)
    assert said == ("Text: Lecture notes. On the left, an image with text: Region-based segmentation. "
                    "Let us first determine. markers of the coins."), said
    assert "a man" not in said and "a photo" not in said
    kept = n.history_words(screen, keep_screen_text=False)
    assert "an image with text." in kept and "segmentation" not in kept and "Lecture" not in kept


def test_a_confident_concept_the_caption_does_not_name_replaces_the_caption():
    n = narration()
    cat = Described("clipboard", "a woman is sitting on a bench", SURE, concepts=(("cat", 0.81), ("dog", 0.05)))
    assert n.photo_words(cat) == "a photo of a cat"
    coffee = Described("file", "a person is sitting on top of a table", SURE, concepts=(("coffee", 0.9),))
    assert n.photo_words(coffee) == "a photo of coffee"
    named = Described("file", "two cats sleep on a sofa", SURE, concepts=(("cat", 0.81),))
    assert n.photo_words(named) == "two cats sleep on a sofa"                 # the caption names it: kept
    weak = Described("file", "a man rides a bike", SURE, concepts=(("dog", 0.3),))
    assert n.photo_words(weak) == "a man rides a bike"                        # not confident: the caption stands
    not_a_category = Described("file", "a man rides a bike", SURE, concepts=(("tripod", 0.6),))
    assert n.photo_words(not_a_category) == "a man rides a bike"               # other classes need more
    rocket = Described("file", "two men stand in front of a building", SURE, concepts=(("space shuttle", 0.8),))
    assert n.photo_words(rocket) == "a photo of a space shuttle"


def test_when_neither_the_caption_nor_the_classifier_is_sure_iris_says_it_cannot_tell():
    n = narration()
    lost = Described("folder", "a man is standing in the street", LOST, concepts=(("tent", 0.1),))
    assert n.photo_words(lost) == "I can't tell what this photo shows"
    maybe = Described("folder", "a man is standing in the street", LOST, concepts=(("dog", 0.3),))
    assert n.photo_words(maybe) == "I can't tell what this photo shows; it may be a dog"
    assert n.photo_words(Described("folder", "a dog runs", UNSURE)) == "possibly a dog runs"
    oxygen_mask = Described("folder", "a man is standing in the street", LOST, concepts=(("oxygen mask", 0.4),))
    assert n.photo_words(oxygen_mask) == "I can't tell what this photo shows"   # only everyday categories offered
    # A doubted caption that names a sure category (as a caption searched again to name it does): the category.
    guided = Described("folder", "a woman is sitting on a cat", LOST, concepts=(("cat", 0.85),))
    assert n.photo_words(guided) == "a photo of a cat"
    unsure_cat = Described("folder", "a woman is sitting on a cat", LOST, concepts=(("cat", 0.45),))
    assert n.photo_words(unsure_cat) == "I can't tell what this photo shows; it may be a cat"


def test_a_withheld_caption_is_said_without_its_doubted_phrase_only_where_the_rest_is_trusted():
    n = narration()
    full = "a man is riding a bike down a dirt road"
    cut = Described("folder", full, LOST, shorter=("a man is riding a bike", SURE, 0.9))
    assert n.photo_words(cut) == "possibly a man is riding a bike"      # its verb is never checked: always hedged
    unsure = Described("folder", full, LOST, shorter=("a man is riding a bike", UNSURE, 0.9))
    assert n.photo_words(unsure) == "possibly a man is riding a bike"
    lost = Described("folder", full, LOST, shorter=("a man is riding a bike", LOST, 0.9))
    assert n.photo_words(lost) == "I can't tell what this photo shows"
    # A caption said whole is said whole, and a cut never drops the category the classifier is sure of.
    assert n.photo_words(replace(cut, score=SURE)) == full
    cat = Described("folder", "a woman is sitting on a couch with a cat", LOST, concepts=(("cat", 0.85),),
                    shorter=("a woman is sitting", SURE, 0.9))
    assert n.photo_words(cat) == "a photo of a cat"
    # A hedge set by confidence in the settings weighs the words said, and still never unhedges a cut.
    n.calibrate(n.calibration, hedge_setting=0.9)
    assert n.photo_words(replace(cut, score=math.log(0.85))) == "possibly " + full
    n.calibrate(n.calibration, hedge_setting=0.01)
    assert n.photo_words(cut) == "possibly a man is riding a bike"


def test_a_model_s_own_doubt_decides_and_a_caption_that_names_more_is_doubted_more():
    from model.calibration import Calibration
    n = Narration(2.0, Calibration(per_token=0.0, total=-0.5, bias=-3.0))   # doubt grows with the total log-prob
    per_word = math.log(0.6)                                                # every caption equally sure per word
    short, middling = "a dog runs", "a dog runs on the grass by a lake"
    long = "a man in a red shirt and a woman in a blue hat ride a bike past a dog"
    assert n.photo_words(Described("file", short, per_word)) == short
    assert n.photo_words(Described("file", middling, per_word)) == "possibly " + middling
    assert n.photo_words(Described("file", long, per_word)) == "I can't tell what this photo shows"
    n.calibrate(Calibration(per_token=0.0, total=-0.5, bias=-3.0), hedge_setting=0.7)    # a number: the hedge
    assert n.photo_words(Described("file", short, per_word)) == "possibly " + short      # is on confidence


def test_an_image_unlike_every_training_photo_never_gets_its_caption():
    n = narration()
    gradient = Described("file", "two children are playing in a pool", SURE, concepts=(("shower curtain", 0.1),),
                         novelty=1.3)
    assert n.photo_words(gradient) == "I can't tell what this image shows"
    # What the pixels show for certain is said with it: the main colours, or that there are many.
    assert n.photo_words(replace(gradient, colours=("blue", "orange"))) == \
        "I can't tell what this image shows; it is mostly blue and orange"
    assert n.photo_words(replace(gradient, colours=("grey",))) == "I can't tell what this image shows; it is mostly grey"
    assert n.photo_words(replace(gradient, colours=())) == "I can't tell what this image shows; it has many colours"
    # On noise the ImageNet head can be as sure of a rare class as it is of a tripod in a photo: not said.
    noise = Described("file", "a man is standing on a street", SURE, concepts=(("doormat", 0.73),), novelty=1.4)
    assert n.photo_words(noise) == "I can't tell what this image shows"
    cat = Described("file", "a woman is sitting on a wall", SURE, concepts=(("cat", 0.75),), novelty=1.1)
    assert n.photo_words(cat) == "a photo of a cat"                            # an everyday category still is
    named = Described("file", "a dog runs on the grass", SURE, concepts=(("dog", 0.9),), novelty=1.1)
    assert n.photo_words(named) == "a photo of a dog"                          # never the caption, even naming it
    unsure_cat = Described("file", "a woman is sitting on a wall", SURE, concepts=(("cat", 0.3),), novelty=1.1)
    assert n.photo_words(unsure_cat) == "I can't tell what this image shows"  # no "it may be" either
    familiar = Described("file", "a dog runs on the grass", SURE, concepts=(("dog", 0.9),), novelty=0.8)
    assert n.photo_words(familiar) == "a dog runs on the grass"
    inside = PhotoSeen(Box(0, 0, 200, 100), "a man is riding a wave", SURE, (), 2.0)   # a photo on a screen
    assert n.photo_words(inside) == "I can't tell what this image shows"


def test_a_drawn_image_with_nothing_to_read_is_called_a_drawing_with_its_colours_and_an_empty_screen_has_no_text():
    n = narration()
    drawing = replace(_screen([], source="folder"), colours=("blue", "red"))
    assert n.words(drawing) == "A drawing or graphic, with no text; it is mostly blue and red."
    assert n.words(replace(drawing, colours=())) == "A drawing or graphic, with no text; it has many colours."
    assert n.words(replace(drawing, source="screen")) == "No text found."       # the title was said before it
    with_photo = replace(drawing, photos=(PhotoSeen(Box(40, 40, 300, 200), "a dog runs", SURE),))
    assert n.words(with_photo).startswith("An image of a screen or document. No text found. At the top left, a photo")
    grounded = PhotoSeen(Box(900, 60, 300, 200), "a woman is sitting on a bench", SURE, (("cat", 0.81),))
    assert n.words(_screen([_line("Pets", 10)], [grounded])) == "Text: Pets. At the top right, a photo of a cat."


def test_a_line_that_ends_in_a_comma_is_not_given_a_full_stop_as_well():
    n = narration()
    assert n.words(_screen([_line("Dear neighbours,", 10), _line("The water is off", 40)])) == \
        "Text: Dear neighbours, The water is off."
