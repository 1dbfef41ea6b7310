"""Is an image like the photos a model learnt from? If not, its caption says nothing.

The caption model has only seen its training photos (Flickr8k: people, dogs,
outdoor scenes). Shown a colour gradient, noise, a drawing, a microscope slide or
the moon, it still writes a fluent scene ("two children are playing in a pool"),
and the caption's own probability cannot tell: the doubt (model/calibration.py)
was learnt on photos like the training ones, so it says nothing about others.

The usual out-of-distribution test answers instead (Lee et al. 2018, "A Simple
Unified Framework for Detecting Out-of-Distribution Samples"): the Mahalanobis
distance of the image's pooled encoder features from a Gaussian fitted to the
training photos' (Ledoit-Wolf shrinkage, scikit-learn, since 1,280 dimensions
are many for a few thousand photos). The limit is the distance that all but a
small share of the model's val photos stay within, so it is learnt per model
and no made image is used to choose it. `novelty` is the distance in units of
that limit: 1 or more means unlike the photos the model knows."""
from dataclasses import dataclass

import numpy as np
import torch

WITHIN = 0.99          # share of val photos that must count as familiar: the limit is their 99th percentile


@dataclass(frozen=True)
class Familiarity:
    location: torch.Tensor     # (C,) mean pooled feature of the training photos
    precision: torch.Tensor    # (C, C) inverse of their (shrunk) covariance
    limit: float               # the distance WITHIN of the val photos stay under

    def distance(self, pooled: torch.Tensor) -> torch.Tensor:
        """(B, C) pooled features -> (B,) Mahalanobis distances."""
        z = pooled.float().to(self.location.device) - self.location
        return ((z @ self.precision) * z).sum(1).clamp_min(0).sqrt()

    def novelty(self, features: torch.Tensor) -> list[float]:
        """(B, R, C) region features -> for each image, its distance in units of the limit."""
        return (self.distance(features.mean(1)) / self.limit).tolist()

    def to(self, device) -> "Familiarity":
        return Familiarity(self.location.to(device), self.precision.to(device), self.limit)

    def saved(self) -> dict:
        # Half precision halves what the checkpoint grows by and moves a distance by far less than its limit.
        return {"location": self.location.cpu(), "precision": self.precision.cpu().half(), "limit": self.limit,
                "within": WITHIN}

    @classmethod
    def from_saved(cls, saved: dict | None) -> "Familiarity | None":
        if not saved or "precision" not in saved:
            return None
        return cls(saved["location"].float(), saved["precision"].float(), float(saved["limit"]))


def pooled(features, chunk: int = 500, through=None) -> np.ndarray:
    """(N, R, C) region features (a float16 memmap is fine) -> (N, C) float64 means, read a chunk at a time;
    `through` (an encoder's own()) turns each chunk into the features familiarity is measured on first."""
    def mean(part) -> np.ndarray:
        if through is None:
            return np.asarray(part, dtype=np.float32).mean(1)
        with torch.inference_mode():
            return through(torch.from_numpy(np.asarray(part, dtype=np.float32))).mean(1).numpy()
    return np.concatenate([mean(features[i:i + chunk]) for i in range(0, len(features), chunk)]).astype(np.float64)


def fit(train_pooled: np.ndarray, val_pooled: np.ndarray) -> Familiarity:
    """The Gaussian of the training photos' pooled features, and the limit from the val photos'."""
    from sklearn.covariance import LedoitWolf
    gaussian = LedoitWolf().fit(train_pooled)
    found = Familiarity(torch.from_numpy(gaussian.location_).float(), torch.from_numpy(gaussian.precision_).float(),
                        1.0)
    limit = float(np.quantile(found.distance(torch.from_numpy(val_pooled)).numpy(), WITHIN))
    return Familiarity(found.location, found.precision, limit)
