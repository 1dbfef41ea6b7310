"""Seed 004's contrastive initialisation: before cross-entropy, the decoder's image side is trained so that
an image lands near the sentence embeddings of its own captions and far from other images' captions.

The image side is the decoder's own feature projection and the layer that makes its first hidden state
(project -> mean over regions -> init_h), followed by a linear head into the sentence space that is thrown
away afterwards. The loss is symmetric InfoNCE over a batch (image to caption and caption to image), with
one of the image's captions drawn at random each time. The sentence side is fixed: all-MiniLM-L6-v2
vectors, computed once (model/sentences.py).

Shapes, by letter: N images in a batch, R regions, C encoder channels, D projected size, H hidden size,
S sentence-embedding size."""
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm


@dataclass
class ContrastiveConfig:
    epochs: int = 5
    batch_images: int = 256      # negatives per image: the other images of the batch
    lr: float = 1e-3
    temperature: float = 0.07


class ImageSide(nn.Module):
    """The decoder's project and init_h, with a head into the sentence space."""

    def __init__(self, decoder, sentence_dim: int):
        super().__init__()
        self.decoder = decoder
        self.head = nn.Linear(decoder.config.hidden_dim, sentence_dim)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """features (N, R, C) -> (N, S), unit length."""
        d = self.decoder
        mean = d.dropout(d.project(features)).mean(1)                # (N, D), as init_state computes it
        return nn.functional.normalize(self.head(torch.tanh(d.init_h(mean))), dim=1)


def info_nce(images: torch.Tensor, sentences: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE: images (N, S) and sentences (N, S), row i of each belongs together."""
    logits = images @ sentences.T / temperature                       # (N, N)
    target = torch.arange(len(images))
    return (nn.functional.cross_entropy(logits, target) + nn.functional.cross_entropy(logits.T, target)) / 2


def retrieval_at_1(side: ImageSide, features: torch.Tensor, sentences: torch.Tensor, chunk: int = 500) -> float:
    """Share of images whose nearest caption vector (of one caption per image) is their own."""
    side.eval()
    with torch.no_grad():
        img = torch.cat([side(features[i:i + chunk].float()) for i in range(0, len(features), chunk)])
    side.train()
    return float(((img @ sentences.T).argmax(1) == torch.arange(len(img))).float().mean())


def pretrain_image_side(decoder, features: torch.Tensor, sentences: np.ndarray, cfg: ContrastiveConfig,
                        val=None, log=print) -> list[dict]:
    """Trains decoder.project and decoder.init_h in place. features (images, R, C) float16;
    sentences (images, 5, S): each image's caption vectors. val: (features, sentences) to report retrieval.
    Returns one log entry per epoch."""
    sentences = torch.from_numpy(np.asarray(sentences, dtype=np.float32))
    side = ImageSide(decoder, sentences.shape[2])
    trained = list(decoder.project.parameters()) + list(decoder.init_h.parameters()) + list(side.head.parameters())
    optimizer = torch.optim.Adam(trained, lr=cfg.lr)
    side.train()
    history = []
    for epoch in range(1, cfg.epochs + 1):
        t0, losses = time.time(), []
        for images in tqdm(torch.randperm(len(features)).split(cfg.batch_images), desc=f"contrastive {epoch}",
                           unit="batch", leave=False):
            if len(images) < 2:
                continue                      # InfoNCE needs another image to contrast with
            pick = torch.randint(sentences.shape[1], (len(images),))
            loss = info_nce(side(features[images].float()), sentences[images, pick], cfg.temperature)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        entry = {"epoch": epoch, "contrastive_loss": float(np.mean(losses)), "seconds": round(time.time() - t0, 1)}
        if val is not None:
            entry["val_r1"] = retrieval_at_1(side, val[0], torch.from_numpy(np.asarray(val[1][:, 0], np.float32)))
        history.append(entry)
        log(f"contrastive epoch {epoch}  loss {entry['contrastive_loss']:.4f}"
            + (f"  val image-to-caption R@1 {entry['val_r1'] * 100:.1f}%" if "val_r1" in entry else "")
            + f"  {entry['seconds']:.0f}s")
    return history
