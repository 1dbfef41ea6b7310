"""Metrics come from the COCO caption toolkit (pycocoevalcap, METEOR on Java)."""
import pytest

from model.evaluate import table
from model.metrics import bleu4, coco_scores

REFS = [["A dog runs across the green grass.", "A brown dog is running on grass.", "The dog runs outside."],
        ["Two children play football in a park.", "Kids kicking a ball on a field.", "Two boys playing soccer."]]


def test_perfect_and_wrong_captions_score_as_the_toolkit_says():
    good = coco_scores(["a brown dog is running on grass", "two boys playing soccer"], REFS)
    bad = coco_scores(["a plate of food on a table", "a red car parked in the street"], REFS)
    assert set(good) == {"BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr"}
    for k in good:
        assert good[k] > bad[k], k
    assert good["BLEU-1"] == pytest.approx(1.0, abs=0.01) and good["METEOR"] > 0.5
    assert bleu4(["a brown dog is running on grass", "two boys playing soccer"], REFS) > 0.5


def test_results_table_has_every_metric():
    rows = [{"model": "m", "beam": 3, "images": 2, **coco_scores(["a dog runs", "two boys play"], REFS)}]
    text = table(rows)
    assert "| m | 3 |" in text and "METEOR" in text and "CIDEr" in text
