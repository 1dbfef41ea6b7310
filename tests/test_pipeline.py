"""The batch pipeline behind describe and caption-folder, with the real encoder, the
tiny trained decoder and real Flickr8k files, some of them broken."""
import shutil
import threading

import pytest
import torch

from assistant.images import open_image
from assistant.pipeline import caption_files, caption_jobs
from conftest import FLICKR
from model.captioner import Captioner


@pytest.fixture(scope="module")
def captioner(tiny_checkpoint):
    return Captioner(tiny_checkpoint, device="cpu", beam_size=2)


def _album(folder, photos=21, broken_every=7):
    """Real photos, with a file that is not an image in place of every 7th."""
    folder.mkdir()
    paths = []
    for i, src in enumerate(sorted((FLICKR / "images").glob("*.jpg"))[:photos]):
        dst = folder / f"{i:03d}.jpg"
        if i % broken_every == 3:
            dst.write_bytes(b"this is not a JPEG at all")
        else:
            shutil.copy(src, dst)
        paths.append(dst)
    return paths


def test_several_workers_give_the_same_captions_in_input_order(captioner, tmp_path):
    paths = _album(tmp_path / "album")
    threads = torch.get_num_threads()
    one = list(caption_files(captioner, paths, batch_size=4))      # too few for more than one worker
    many = list(caption_files(captioner, paths, batch_size=2))     # 11 batches: one worker per thread
    three = list(caption_jobs(captioner, ((p, lambda p=p: open_image(p)) for p in paths), batch_size=3, workers=3))
    assert torch.get_num_threads() == threads                       # the workers' 1-thread setting is undone
    for run in (one, many, three):
        assert [r.key for r in run] == paths                        # each file once, in order
        assert [r.error is not None for r in run] == [i % 7 == 3 for i in range(len(paths))]
        assert [r.caption.text for r in run if r.caption] == [r.caption.text for r in one if r.caption]
    assert all(r.caption.text for r in one if r.error is None)


def test_a_crash_while_loading_reaches_the_caller(captioner, tmp_path):
    paths = _album(tmp_path / "album", photos=8)

    def broken_loader():
        raise MemoryError("simulated")     # not an ImageError: a bug or a real exhaustion, never swallowed

    jobs = [(p, broken_loader if i == 5 else (lambda p=p: open_image(p))) for i, p in enumerate(paths)]
    with pytest.raises(MemoryError, match="simulated"):
        list(caption_jobs(captioner, jobs, batch_size=2, workers=2))
    assert not _pipeline_threads()         # none left blocked, or computing when the interpreter exits


def test_stopping_early_ends_every_thread(captioner, tmp_path):
    paths = _album(tmp_path / "album", photos=12, broken_every=99)
    run = caption_jobs(captioner, ((p, lambda p=p: open_image(p)) for p in paths), batch_size=2, workers=2)
    assert next(run).key == paths[0]
    run.close()                            # what happens when the user presses Ctrl+C in caption-folder
    assert not _pipeline_threads()


def _pipeline_threads():
    return [t.name for t in threading.enumerate() if t.name.startswith("iris-") and t.is_alive()]
