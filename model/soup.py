"""A model soup (Wortsman et al. 2022): one model whose weights are the mean of several
self-critical models trained from the same cross-entropy start with different rewards.

The shipped recipe trains its self-critical epoch twice from one start, once rewarded by
CIDEr-D alone and once by CIDEr-D and METEOR (which credits recall), and ships their
average. Models fine-tuned from one start stay close enough that their average is a model
in its own right, and on val it scored above each of the two alone, saying no more false
subjects (README, "Which steps ship"). Still one decoder: describing costs what it did.

Averaging by hand: torch's AveragedModel averages one model along its own training, not
separate files, and a mean of tensors needs no library."""
from pathlib import Path

import torch

from model.checkpoint import CheckpointError, load_checkpoint, save_checkpoint


def average(paths: list[Path], out: Path) -> Path:
    """Write to `out` the model whose weights are the mean of the models at `paths` (the same decoder, vocabulary
    and encoder, trained from one start), recording each one's self-critical stage; returns `out`."""
    models = [load_checkpoint(Path(p)) for p in paths]
    decoder, vocab, first = models[0]
    for _, other_vocab, ckpt in models[1:]:
        if (other_vocab.itos != vocab.itos or ckpt.decoder != first.decoder
                or (ckpt.encoder_name, ckpt.grid) != (first.encoder_name, first.grid)):
            raise CheckpointError(f"{ckpt.path} and {first.path} are not the same model trained two ways, so their "
                                  f"weights cannot be averaged.")
    states = [d.state_dict() for d, _, _ in models]
    mean = {k: torch.stack([s[k].float() for s in states]).mean(0).to(v.dtype) if v.is_floating_point() else v
            for k, v in states[0].items()}
    decoder.load_state_dict(mean)
    trained = {**first.trained, "soup": [{"file": str(c.path), **c.trained.get("scst", {})} for _, _, c in models]}
    save_checkpoint(out, decoder, vocab, first.encoder_name, first.grid, trained=trained)
    return Path(out)
