"""Typed settings: one frozen dataclass per part, built from the validated TOML, so
the assistant reads `settings.speech.rate` instead of string keys."""
from dataclasses import dataclass, fields
from pathlib import Path


@dataclass(frozen=True)
class ScreenSettings:
    area: str
    monitor: str
    save_screenshots: bool
    screenshot_dir: str


@dataclass(frozen=True)
class ClipboardSettings:
    enabled: bool
    poll_seconds: float


@dataclass(frozen=True)
class FolderSettings:
    watch: tuple[str, ...]
    recursive: bool
    write_sidecar: bool
    settle_seconds: float
    burst_seconds: float

    @property
    def paths(self) -> list[Path]:
        return [Path(f).expanduser() for f in self.watch]


@dataclass(frozen=True)
class SpeechSettings:
    enabled: bool
    rate: int
    volume: float
    voice: str
    output_dir: str


@dataclass(frozen=True)
class ModelSettings:
    checkpoint: str
    device: str
    beam_size: int
    max_length: int
    hedge_below: float | str      # "auto": the loaded model's own doubt (model/calibration.py)


@dataclass(frozen=True)
class HistorySettings:
    enabled: bool
    keep_screen_text: bool


@dataclass(frozen=True)
class WebSettings:
    port: int
    start_with_assistant: bool
    open_browser: bool


@dataclass(frozen=True)
class Settings:
    hotkeys: dict[str, str]          # action name (assistant/actions.py) -> key combination
    screen: ScreenSettings
    clipboard: ClipboardSettings
    folders: FolderSettings
    speech: SpeechSettings
    model: ModelSettings
    history: HistorySettings
    web: WebSettings

    @classmethod
    def from_dict(cls, raw: dict) -> "Settings":
        """From load_settings()'s validated dictionary."""
        def build(kind, values: dict):
            return kind(**{f.name: (tuple(values[f.name]) if f.name == "watch" else values[f.name])
                           for f in fields(kind)})
        return cls(hotkeys=dict(raw["hotkeys"]), screen=build(ScreenSettings, raw["screen"]),
                   clipboard=build(ClipboardSettings, raw["clipboard"]), folders=build(FolderSettings, raw["folders"]),
                   speech=build(SpeechSettings, raw["speech"]), model=build(ModelSettings, raw["model"]),
                   history=build(HistorySettings, raw["history"]), web=build(WebSettings, raw["web"]))
