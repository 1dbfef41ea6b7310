"""The history database: private to the user, a cache of captions, failures recorded."""
import stat

from PIL import Image

from assistant.history import History, default_path, image_hash


def test_history_is_private_records_failures_and_caches_by_pixels(tmp_path):
    h = History()
    assert default_path().is_file()
    assert stat.S_IMODE(default_path().stat().st_mode) & 0o077 == 0        # only the owner can read it
    assert stat.S_IMODE(default_path().parent.stat().st_mode) == 0o700
    img = Image.new("RGB", (32, 32), "red")
    digest = image_hash(img)
    assert digest == image_hash(img.copy()) != image_hash(Image.new("RGB", (32, 32), "blue"))
    assert h.cached(digest, "m1") is None
    h.add("folder", path=tmp_path / "a.jpg", digest=digest, model="m1", caption="a red square", score=-0.5)
    h.add("folder", path=tmp_path / "b.jpg", error="b.jpg: empty file (0 bytes)")
    assert h.cached(digest, "m1") == ("a red square", -0.5, (), None, None, None)
    assert h.cached(digest, "another model") is None        # a new model captions afresh
    # A cached caption comes back with what decides whether it is said: the concepts, how unfamiliar it was and
    # how likely the least likely thing it names is there, and its cut before a doubted thing.
    h.add("folder", digest=digest, model="m2", caption="a man on a street", score=-0.4,
          concepts=(("doormat", 0.73),), novelty=1.4, support=0.12, shorter=("a man", -1.2, 0.97))
    assert h.cached(digest, "m2") == ("a man on a street", -0.4, (("doormat", 0.73),), 1.4, 0.12,
                                      ("a man", -1.2, 0.97))
    rows = h.recent(5)
    assert [r["status"] for r in rows] == ["ok", "failed", "ok"]
    assert rows[1]["error"].endswith("empty file (0 bytes)")
    h.close()
    # Reopening finds everything (one transaction per row).
    assert len(History().recent(10)) == 3


def test_a_history_made_by_an_older_iris_keeps_its_rows_and_gains_the_new_columns():
    import sqlite3
    path = default_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    old = sqlite3.connect(path)        # the table as the first Iris made it, with one caption in it
    old.executescript("CREATE TABLE captions (id INTEGER PRIMARY KEY, time TEXT NOT NULL, source TEXT NOT NULL, "
                      "path TEXT, image_hash TEXT, model TEXT, caption TEXT, score REAL, status TEXT NOT NULL, "
                      "error TEXT);"
                      "INSERT INTO captions(time, source, image_hash, model, caption, score, status) "
                      "VALUES ('2026-01-01T00:00:00+00:00', 'folder', 'abc', 'm1', 'a dog runs', -0.3, 'ok');")
    old.commit()
    old.close()
    h = History()
    # The old row is still there; what it was never given (concepts, novelty, support, shorter) reads as unknown.
    assert h.cached("abc", "m1") == ("a dog runs", -0.3, (), None, None, None)
    h.add("folder", digest="def", model="m1", caption="a cat sleeps", score=-0.2, novelty=0.4, support=0.9)
    assert h.cached("def", "m1") == ("a cat sleeps", -0.2, (), 0.4, 0.9, None)
    h.close()
