"""Settings: the shipped defaults with the user's own file merged over them.

A bad value stops loading with one message that names the key and what it may
hold, so the assistant never starts on a half-read configuration."""
import tomllib
from pathlib import Path

import platformdirs

from config.schema import SCHEMA

APP = "iris"
DEFAULTS = Path(__file__).with_name("default.toml")


class ConfigError(Exception):
    """A settings file that cannot be used; the message is meant for the user."""


def user_settings_path() -> Path:
    return Path(platformdirs.user_config_dir(APP)) / "settings.toml"


def data_dir() -> Path:
    """Iris's private data directory (history, saved screenshots)."""
    return Path(platformdirs.user_data_dir(APP))


def _read(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"Settings file {path} is not valid TOML: {e}") from None
    except OSError as e:
        raise ConfigError(f"Cannot read settings file {path}: {e.strerror}") from None


def _validate(data: dict, source: Path) -> None:
    for section, values in data.items():
        if section not in SCHEMA:
            raise ConfigError(f"{source}: unknown section [{section}]; known sections: {', '.join(SCHEMA)}")
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: [{section}] must be a section, not a single value")
        for key, value in values.items():
            rule = SCHEMA[section].get(key)
            if rule is None:
                raise ConfigError(f"{source}: unknown setting {section}.{key}; "
                                  f"settings in [{section}]: {', '.join(SCHEMA[section])}")
            # TOML booleans are not numbers here, though Python says bool is an int.
            ok_type = isinstance(value, rule.kind) and not (isinstance(value, bool) and rule.kind is not bool)
            if not ok_type or not rule.check(value):
                raise ConfigError(f"{source}: {section}.{key} = {value!r} is not allowed; use {rule.allowed}")


def load_settings(path: Path | None = None) -> dict:
    """Defaults merged with the user's file (``path``, else the platform one if it exists)."""
    settings = _read(DEFAULTS)
    _validate(settings, DEFAULTS)
    explicit = path is not None
    path = Path(path) if explicit else user_settings_path()
    if explicit and not path.exists():
        raise ConfigError(f"Settings file {path} does not exist")
    if path.exists():
        override = _read(path)
        _validate(override, path)
        for section, values in override.items():
            settings[section].update(values)
    return settings


def load(path: Path | None = None):
    """Typed settings (config/settings.py) from the same files."""
    from config.settings import Settings
    return Settings.from_dict(load_settings(path))
