"""Opening untrusted images: every failure is one clear message, and nothing is written."""
import subprocess
import sys

import pytest
from PIL import Image

from assistant.images import WORKING_SIZE, ImageError, is_candidate, open_image
from conftest import FLICKR, HONOUR_PERMISSIONS, ROOT
from hostile import hostile_files, huge_jpeg

PHOTO = FLICKR / "images" / "1000268201_693b08cb0e.jpg"


def test_every_hostile_file_gives_one_clear_error(tmp_path):
    for name, words in hostile_files(tmp_path, PHOTO).items():
        with pytest.raises(ImageError) as e:
            open_image(tmp_path / name)
        assert words in str(e.value), (name, str(e.value))
        assert str(e.value).startswith(str(tmp_path / name))


def test_symlink_loop_missing_file_and_folder(tmp_path):
    (tmp_path / "a.jpg").symlink_to(tmp_path / "b.jpg")
    (tmp_path / "b.jpg").symlink_to(tmp_path / "a.jpg")
    with pytest.raises(ImageError, match="symbolic link loop"):
        open_image(tmp_path / "a.jpg")
    with pytest.raises(ImageError, match="no longer exists"):
        open_image(tmp_path / "gone.jpg")
    (tmp_path / "dir.jpg").mkdir()
    with pytest.raises(ImageError, match="not a regular file"):
        open_image(tmp_path / "dir.jpg")


def test_unreadable_file(tmp_path):
    p = tmp_path / "secret.jpg"
    p.write_bytes(PHOTO.read_bytes())
    p.chmod(0)
    # In a child process that file permissions bind even when the tests run as root.
    probe = ("import sys; from assistant.images import ImageError, open_image\n"
             "try:\n    open_image(sys.argv[1])\nexcept ImageError as e:\n    print(e)")
    out = subprocess.run([*HONOUR_PERMISSIONS, sys.executable, "-c", probe, str(p)], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert "permission denied" in out.stdout, out.stdout + out.stderr


def test_huge_photo_is_read_reduced(tmp_path):
    path = huge_jpeg(tmp_path / "huge.jpg")
    im = open_image(path)
    assert max(im.size) <= WORKING_SIZE and im.size[0] > im.size[1]


def test_wrong_extension_that_is_still_an_image_is_read(tmp_path):
    p = tmp_path / "really_a_png.jpg"
    Image.open(PHOTO).save(p, format="PNG")
    assert open_image(p).size == (224, 224)


def test_gif_first_frame_tiff_webp_bmp(tmp_path):
    base = Image.open(PHOTO)
    frames = [base, base.transpose(Image.FLIP_LEFT_RIGHT)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    for ext in ("tiff", "webp", "bmp"):
        base.save(tmp_path / f"p.{ext}")
        assert open_image(tmp_path / f"p.{ext}").mode == "RGB"
    assert open_image(tmp_path / "anim.gif").size == (224, 224)


def test_hidden_and_temporary_names_are_not_candidates(tmp_path):
    assert is_candidate(tmp_path / "Photo.JPG")
    for name in (".hidden.jpg", "~$tmp.jpg", "x.jpg~", "x.jpg.part", "x.crdownload", "notes.txt"):
        assert not is_candidate(tmp_path / name), name


def test_opening_never_modifies_the_file(tmp_path):
    p = tmp_path / "p.jpg"
    p.write_bytes(PHOTO.read_bytes())
    before = (p.read_bytes(), p.stat().st_mtime_ns)
    open_image(p)
    assert (p.read_bytes(), p.stat().st_mtime_ns) == before
