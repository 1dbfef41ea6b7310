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
