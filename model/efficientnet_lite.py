"""EfficientNet-Lite0/1/2 (Tan & Le 2019, the TensorFlow "lite" variants), written out in plain torch.

Why not timm: timm imports torchvision, and no CPU-only torchvision exists in our registry, so using
timm forces the CUDA build of torch on every machine. That build keeps far more resident than the CPU
build, and torchvision's import pulls in torch._dynamo, sympy and triton besides: the idle assistant
could not stay under its memory budget (benchmarks/results/idle_service.md). This module needs torch and nothing else.

The layers, their order and their shapes are those of the TensorFlow port the weights packages ship, so
a state dict loads by position; tests/test_model.py checks the features against a reference.
Lite variants: ReLU6 instead of swish, no squeeze-excitation, stem and head not scaled."""
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_weights

BN_EPS = 1e-3   # TensorFlow's default, which the ported statistics assume

# Per stage: (expansion, kernel, first stride, channels per variant, repeats per variant).
# Channels and repeats are EfficientNet-B0's scaled by the variant's width and depth multipliers.
STAGES = (
    # exp k  s  channels: lite0, lite1, lite2   repeats: lite0, lite1, lite2
    (1, 3, 1, (16, 16, 16), (1, 1, 1)),
    (6, 3, 2, (24, 24, 24), (2, 3, 3)),
    (6, 5, 2, (40, 40, 48), (2, 3, 3)),
    (6, 3, 2, (80, 80, 88), (3, 4, 4)),
    (6, 5, 1, (112, 112, 120), (3, 4, 4)),
    (6, 5, 2, (192, 192, 208), (4, 5, 5)),
    (6, 3, 1, (320, 320, 352), (1, 1, 1)),
)
VARIANTS = {"efficientnet_lite0": 0, "efficientnet_lite1": 1, "efficientnet_lite2": 2}
STEM, HEAD = 32, 1280


class SameConv2d(nn.Conv2d):
    """Convolution with TensorFlow's "SAME" padding for strided layers: the output is ceil(input / stride),
    and when the padding is odd the extra row and column go at the bottom and right."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride)):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads))


def conv(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    if stride == 1:  # odd kernel, stride 1: "SAME" is symmetric
        return nn.Conv2d(cin, cout, k, padding=k // 2, groups=groups, bias=False)
    return SameConv2d(cin, cout, k, stride=stride, groups=groups, bias=False)


class BatchNormReLU6(nn.BatchNorm2d):
    """Batch norm, then ReLU6 unless it feeds a linear projection (one module, so state dict keys stay
    those of the TensorFlow port: bn1.weight, not bn1.0.weight)."""

    def __init__(self, channels: int, act: bool = True):
        super().__init__(channels, eps=BN_EPS)
        self.act, self.folded = act, False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.folded:
            x = super().forward(x)
        # In place: x is always a fresh convolution or batch norm output that nothing else reads, so the
        # copy (one full activation map per layer, memory traffic a CPU pays for) is not needed.
        return F.relu6(x, inplace=True) if self.act else x

    def fold_into(self, conv: nn.Conv2d) -> None:
        """For inference only: scale and shift conv's weights by this layer's frozen statistics, and skip them."""
        conv.weight, conv.bias = fuse_conv_bn_weights(conv.weight, conv.bias, self.running_mean, self.running_var,
                                                      self.eps, self.weight, self.bias)
        self.folded = True


class DepthwiseSeparable(nn.Module):
    """First stage: depthwise conv, then a linear pointwise projection."""

    def __init__(self, cin: int, cout: int, k: int):
        super().__init__()
        self.conv_dw, self.bn1 = conv(cin, cin, k, groups=cin), BatchNormReLU6(cin)
        self.conv_pw, self.bn2 = conv(cin, cout, 1), BatchNormReLU6(cout, act=False)
        self.skip = cin == cout

    def forward(self, x):
        y = self.bn2(self.conv_pw(self.bn1(self.conv_dw(x))))
        return y.add_(x) if self.skip else y


class InvertedResidual(nn.Module):
    """MBConv: pointwise expansion, depthwise conv, linear pointwise projection, residual when shapes allow."""

    def __init__(self, cin: int, cout: int, k: int, stride: int, expansion: int):
        super().__init__()
        mid = cin * expansion
        self.conv_pw, self.bn1 = conv(cin, mid, 1), BatchNormReLU6(mid)
        self.conv_dw, self.bn2 = conv(mid, mid, k, stride, groups=mid), BatchNormReLU6(mid)
        self.conv_pwl, self.bn3 = conv(mid, cout, 1), BatchNormReLU6(cout, act=False)
        self.skip = stride == 1 and cin == cout

    def forward(self, x):
        y = self.bn3(self.conv_pwl(self.bn2(self.conv_dw(self.bn1(self.conv_pw(x))))))
        return y.add_(x) if self.skip else y    # in place, as above: y is a fresh projection


def fold_batch_norms(network: nn.Module) -> nn.Module:
    """Fold each batch norm into the convolution registered just before it (weights and bias rewritten,
    statistics no longer applied); the convolutions stay trainable."""
    for module in network.modules():
        before = None
        for child in module.children():     # each batch norm is registered right after its conv
            if isinstance(child, BatchNormReLU6) and not child.folded:
                assert isinstance(before, nn.Conv2d), "a batch norm must follow a convolution"
                child.fold_into(before)
            before = child
    return network


class EfficientNetLite(nn.Module):
    """Feature extractor: (B, 3, S, S) in [-1, 1] -> (B, 1280, S/32, S/32). The classifier is kept only so
    that the weights packages' state dicts (which include it) load by position."""

    def __init__(self, name: str):
        super().__init__()
        v = VARIANTS[name]
        self.conv_stem, self.bn1 = conv(3, STEM, 3, 2), BatchNormReLU6(STEM)
        stages, cin = [], STEM
        for expansion, k, stride, channels, repeats in STAGES:
            blocks = []
            for i in range(repeats[v]):
                s = stride if i == 0 else 1
                blocks.append(DepthwiseSeparable(cin, channels[v], k) if expansion == 1
                              else InvertedResidual(cin, channels[v], k, s, expansion))
                cin = channels[v]
            stages.append(nn.Sequential(*blocks))
        self.blocks = nn.Sequential(*stages)
        self.conv_head, self.bn2 = conv(cin, HEAD, 1), BatchNormReLU6(HEAD)
        self.classifier = nn.Linear(HEAD, 1000)

    def fold_batch_norm(self) -> "EfficientNetLite":
        """Fold every batch norm into the convolution before it: the same outputs to rounding, and faster
        on a CPU (benchmarks/results/encoder_layout.md). Frozen, so inference only."""
        fold_batch_norms(self)
        for p in self.parameters():
            p.requires_grad = False
        return self

    def forward_trunk(self, x: torch.Tensor) -> torch.Tensor:
        """Everything below the top (the last stage and the head convolution): (B, 3, S, S) -> (B, c, S/32, S/32)."""
        x = self.bn1(self.conv_stem(x))
        for stage in self.blocks[:-1]:
            x = stage(x)
        return x

    def forward_top(self, x: torch.Tensor) -> torch.Tensor:
        """The top alone: the trunk's output -> (B, 1280, S/32, S/32)."""
        return self.bn2(self.conv_head(self.blocks[-1](x)))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_top(self.forward_trunk(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.forward_features(x).mean((2, 3)))
