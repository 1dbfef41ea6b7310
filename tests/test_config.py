import pytest

from config import ConfigError, load_settings, user_settings_path
from config.schema import SCHEMA


def test_defaults_cover_every_setting_in_the_schema():
    settings = load_settings()
    assert set(settings) == set(SCHEMA)
    for section, rules in SCHEMA.items():
        assert set(settings[section]) == set(rules), section
    assert settings["hotkeys"]["describe_screen"] == "<ctrl>+<alt>+d"
    assert settings["model"]["device"] == "auto"


def test_user_file_in_platform_dir_overrides_only_its_keys():
    path = user_settings_path()
    path.parent.mkdir(parents=True)
    path.write_text('[speech]\nrate = 220\n[folders]\nwatch = ["~/Pictures"]\n')
    s = load_settings()
    assert s["speech"]["rate"] == 220
    assert s["speech"]["volume"] == 1.0          # untouched keys keep their defaults
    assert s["folders"]["watch"] == ["~/Pictures"]


@pytest.mark.parametrize("text, must_name", [
    ('[model]\ndevice = "gpu"\n', ['model.device', '"auto", "cpu" or "cuda"']),
    ('[speech]\nrate = 5000\n', ["speech.rate", "80 to 400"]),
    ('[speech]\nenabled = "yes"\n', ["speech.enabled", "true or false"]),
    ('[model]\nbeam_size = true\n', ["model.beam_size", "whole number"]),
    ('[speach]\nrate = 200\n', ["unknown section [speach]"]),
    ('[speech]\nspeed = 200\n', ["unknown setting speech.speed", "rate"]),
    ('[speech\nrate = 200\n', ["not valid TOML"]),
])
def test_bad_setting_gives_one_message_naming_key_and_allowed_values(tmp_path, text, must_name):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_settings(f)
    for fragment in must_name:
        assert fragment in str(e.value)
    assert str(f) in str(e.value)


def test_explicit_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")
