"""Decoder layers with their weights laid out once for oneDNN, for captioning on a CPU.

Beam search multiplies a few rows (the beams) by the decoder's largest weights at every word.
torch sends an fp32 Linear to MKL's sgemm, which re-packs the whole weight on each call, so
for a handful of rows the copy costs more than the product. oneDNN can keep the weight in
its own layout, packed once at load time. torch ships no public module for that: its own
compiler (inductor) uses the `mkldnn` ops below, and so do we; without them the model is
left exactly as it was. The results are the same products in another summation order.

Only weights too large to stay in the cache are packed: for small ones MKL is as fast."""
import torch
from torch import nn

# Weight elements above which packing pays for itself: timed layer by layer, packing was slower than MKL for the
# decoder's 512x512 weight and smaller ones, and faster from its word-output layer up.
LARGE = 1 << 19


def available() -> bool:
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


class PackedLinear(nn.Module):
    """nn.Linear for inference only (no gradient), its weight in oneDNN's layout."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None):
        super().__init__()
        self.out_features = weight.size(0)
        self.register_buffer("weight", torch.ops.mkldnn._reorder_linear_weight(weight.detach().float()),
                             persistent=False)
        self.register_buffer("bias", None if bias is None else bias.detach().float().clone(), persistent=False)

    @classmethod
    def of(cls, linear: nn.Linear) -> "PackedLinear":
        return cls(linear.weight, linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, x.size(-1))
        y = torch.ops.mkldnn._linear_pointwise(rows, self.weight, self.bias, "none", [], "")
        return y.view(*x.shape[:-1], self.out_features)


class PackedLSTMCell(nn.Module):
    """nn.LSTMCell for inference only: its input and hidden products are one packed product of [x, h],
    the gates in torch's order (input, forget, cell, output)."""

    def __init__(self, cell: nn.LSTMCell):
        super().__init__()
        weight = torch.cat([cell.weight_ih, cell.weight_hh], 1)
        bias = cell.bias_ih + cell.bias_hh if cell.bias else None
        self.gates = PackedLinear(weight, bias)
        self.hidden_size = cell.hidden_size

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None):
        if state is None:                       # as nn.LSTMCell: a zero memory to start from
            state = (x.new_zeros(x.size(0), self.hidden_size),) * 2
        h, c = state
        i, f, g, o = self.gates(torch.cat([x, h], 1)).chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c


def _large(module: nn.Module) -> bool:
    return sum(p.numel() for name, p in module.named_parameters() if "weight" in name) > LARGE


@torch.no_grad()
def pack_for_cpu(model: nn.Module) -> nn.Module:
    """Swap `model`'s large Linear and LSTMCell layers for packed ones, in place; returns `model`.
    Only for a model that stays on the CPU and is never trained again."""
    if not available():
        return model
    for name, child in model.named_children():
        if isinstance(child, nn.Linear) and _large(child):
            setattr(model, name, PackedLinear.of(child))
        elif isinstance(child, nn.LSTMCell) and _large(child):
            setattr(model, name, PackedLSTMCell(child))
        else:
            pack_for_cpu(child)
    return model
