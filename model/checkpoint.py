"""The checkpoint file: decoder weights, vocabulary and settings (encoder weights stay in their package).

Loading checks the format before trusting anything in it, so a corrupt, truncated
or foreign file gives one clear message instead of a stack trace."""
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import torch

from model.decoder import DECODERS, DecoderConfig, build_decoder
from model.vocabulary import Vocabulary

FORMAT = "iris-caption-checkpoint"
VERSION = 1
SHIPPED = Path(__file__).resolve().parent / "checkpoints" / "iris-attention-lite2.pt"
RETRAIN = "Use the shipped model (leave model.checkpoint empty) or retrain with `python main.py train`."


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used; the message names the file and the fix."""


@dataclass
class Checkpoint:
    """What a checkpoint file holds, read and checked."""
    path: Path
    decoder: DecoderConfig
    state_dict: dict
    vocabulary: list[str]
    encoder_name: str
    grid: int
    trained: dict = field(default_factory=dict)     # how the model was made (epoch, val score, config)
    training: dict = field(default_factory=dict)    # resume state, in last.pt only
    calibration: dict = field(default_factory=dict)  # how far to trust this model's captions (model/calibration.py)

    def feature_encoder(self):
        """The encoder whose features this model reads: below the top when the decoder owns a tuned top."""
        from model.encoder import Encoder
        return Encoder(self.encoder_name, self.grid, before_top=bool(self.decoder.top_of))

    def sha256(self) -> str:
        """The file's content hash: the same name can hold another model after retraining."""
        h = hashlib.sha256()
        with open(self.path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()


def save_checkpoint(path: Path, decoder, vocab: Vocabulary, encoder_name: str, grid: int, **extra) -> None:
    """extra: trained={...} and/or training={...}."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    config = decoder.config.saved()
    payload = {
        "format": FORMAT, "version": VERSION,
        "decoder": {"kind": config.pop("kind"), "hparams": config, "state_dict": decoder.state_dict()},
        "vocabulary": vocab.to_json(),
        "encoder": {"name": encoder_name, "grid": grid},
        **extra,
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)   # never leave a half-written checkpoint under the real name


def write_calibration(path: Path, calibration: dict) -> None:
    """Add (or replace) a checkpoint's calibration, leaving the rest of the file as it is."""
    path = Path(path)
    read_checkpoint(path)                       # a file that is not a checkpoint is refused, not rewritten
    data = torch.load(path, map_location="cpu", weights_only=True)
    data["calibration"] = calibration
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(data, tmp)
    tmp.replace(path)


def read_checkpoint(path: Path) -> Checkpoint:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"Model checkpoint not found: {path}. {RETRAIN}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:   # torch raises many types for truncated/garbled files
        raise CheckpointError(f"Model checkpoint {path} is corrupt or truncated ({type(e).__name__}). {RETRAIN}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an Iris model checkpoint. {RETRAIN}")
    if data.get("version") != VERSION:
        raise CheckpointError(f"{path} is checkpoint format version {data.get('version')}, this Iris reads "
                              f"version {VERSION}. {RETRAIN}")
    dec = data.get("decoder", {})
    if dec.get("kind") not in DECODERS or not isinstance(data.get("vocabulary"), list):
        raise CheckpointError(f"{path} is missing its decoder or vocabulary. {RETRAIN}")
    try:
        return Checkpoint(path, DecoderConfig(kind=dec["kind"], **dec["hparams"]), dec["state_dict"],
                          data["vocabulary"], data["encoder"]["name"], data["encoder"]["grid"],
                          data.get("trained") or {}, data.get("training") or {}, data.get("calibration") or {})
    except (TypeError, KeyError) as e:
        raise CheckpointError(f"{path} does not match this version of the model code: {e}") from None


def load_checkpoint(path: Path, device: str = "cpu"):
    """(decoder in eval mode, vocabulary, Checkpoint)."""
    ckpt = read_checkpoint(path)
    try:
        vocab = Vocabulary.from_json(ckpt.vocabulary)
        decoder = build_decoder(ckpt.decoder)
        decoder.load_state_dict(ckpt.state_dict)
    except (TypeError, ValueError, RuntimeError, KeyError) as e:
        raise CheckpointError(f"{path} does not match this version of the model code: {str(e).splitlines()[0]}") from None
    return decoder.to(device).eval(), vocab, ckpt
