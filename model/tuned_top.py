"""The encoder's top (its last stage and head convolution), owned by the decoder so that captioning can
fine-tune it.

Fine-tuning the whole CNN is out of reach on a CPU; the top alone runs on cached features of the frozen
layers below it (Encoder(before_top=True)), so an epoch stays affordable. Its batch norms are folded into
the convolutions: statistics from a few dozen images per batch would be noise, and the folded
convolutions are what the product runs anyway. The encoder keeps its own, untouched top for the ImageNet
head, so grounding still sees what the classifier was trained on."""
import torch
from torch import nn

from model.efficientnet_lite import BatchNormReLU6, EfficientNetLite, fold_batch_norms
from model.encoder import Encoder, on_grid


class TunedTop(nn.Module):
    """(B, R, c) features from below the encoder's top -> (B, R, C), trainable."""

    def __init__(self, encoder_name: str):
        super().__init__()
        net = EfficientNetLite(encoder_name)     # the architecture only: weights come from start_from or a checkpoint
        self.block, self.conv_head, self.bn = net.blocks[-1], net.conv_head, net.bn2
        fold_batch_norms(self)
        for module in self.modules():            # folded batch norms keep parameters that nothing reads
            if isinstance(module, BatchNormReLU6):
                module.requires_grad_(False)
            elif isinstance(module, nn.Conv2d):
                module.requires_grad_(True)      # folding leaves a new bias that does not ask for gradients

    @torch.no_grad()
    def start_from(self, encoder: Encoder) -> "TunedTop":
        """Copy the pretrained top of a folded (for_inference) encoder of the same kind."""
        cnn = encoder.cnn
        for mine, theirs in ((self.block, cnn.blocks[-1]), (self.conv_head, cnn.conv_head), (self.bn, cnn.bn2)):
            mine.load_state_dict(theirs.state_dict())
        return self

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return on_grid(lambda x: self.bn(self.conv_head(self.block(x))), features)
