"""The checkpoint file: decoder weights, vocabulary and settings (encoder weights stay in their package).

Loading checks the format before trusting anything in it, so a corrupt, truncated
or foreign file gives one clear message instead of a stack trace."""
from pathlib import Path

import torch

from model.decoder import DECODERS, build_decoder
from model.vocabulary import Vocabulary

FORMAT = "iris-caption-checkpoint"
VERSION = 1
SHIPPED = Path(__file__).resolve().parent / "checkpoints" / "iris-attention-lite2.pt"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used; the message names the file and the fix."""


def save_checkpoint(path: Path, decoder, vocab: Vocabulary, encoder_name: str, grid: int, **extra) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT, "version": VERSION,
        "decoder": {"kind": decoder.kind, "hparams": decoder.hparams, "state_dict": decoder.state_dict()},
        "vocabulary": vocab.to_json(),
        "encoder": {"name": encoder_name, "grid": grid},
        **extra,
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)   # never leave a half-written checkpoint under the real name


def read_checkpoint(path: Path) -> dict:
    """The raw checkpoint dict after format checks."""
    path = Path(path)
    retrain = "Use the shipped model (leave model.checkpoint empty) or retrain with `python main.py train`."
    if not path.is_file():
        raise CheckpointError(f"Model checkpoint not found: {path}. {retrain}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:   # torch raises many types for truncated/garbled files
        raise CheckpointError(f"Model checkpoint {path} is corrupt or truncated ({type(e).__name__}). {retrain}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an Iris model checkpoint. {retrain}")
    if data.get("version") != VERSION:
        raise CheckpointError(f"{path} is checkpoint format version {data.get('version')}, this Iris reads "
                              f"version {VERSION}. {retrain}")
    dec = data.get("decoder", {})
    if dec.get("kind") not in DECODERS or not isinstance(data.get("vocabulary"), list):
        raise CheckpointError(f"{path} is missing its decoder or vocabulary. {retrain}")
    return data


def load_checkpoint(path: Path, device: str = "cpu"):
    """(decoder in eval mode, vocabulary, raw dict)."""
    data = read_checkpoint(path)
    try:
        vocab = Vocabulary.from_json(data["vocabulary"])
        decoder = build_decoder(data["decoder"]["kind"], **data["decoder"]["hparams"])
        decoder.load_state_dict(data["decoder"]["state_dict"])
    except (TypeError, ValueError, RuntimeError, KeyError) as e:
        raise CheckpointError(f"{path} does not match this version of the model code: {str(e).splitlines()[0]}") from None
    return decoder.to(device).eval(), vocab, data
