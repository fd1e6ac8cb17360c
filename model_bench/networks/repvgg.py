"""RepVGG (Ding et al., 2021): trained with multi-branch blocks, deployed as plain 3×3 convs.

Each training-time block adds three branches: 3×3 conv → BN, 1×1 conv → BN and, when the block
keeps its shape, BN alone (the identity). Because convolution and inference-mode BN are linear,
the three branches fold into one 3×3 convolution with a bias: the 1×1 kernel is the centre of a
3×3 one, the identity is a 3×3 kernel with a single 1 at the centre of its own channel.
`deploy(model)` returns that fused copy, which gives the same outputs and is faster to run.
"""

import copy
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

# RepVGG-A0: blocks per stage, and widths 64a for the first stages and 512b for the last, with
# a = 0.75, b = 2.5 (the first stage is capped at 64 wide).
A0_BLOCKS = (1, 2, 4, 14, 1)
A0_WIDTHS = (48, 48, 96, 192, 1280)


class ConvBN(nn.Sequential):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2, bias=False),
            nn.BatchNorm2d(out_channels),
        )


def _fold_bn(kernel: torch.Tensor, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    # BN(conv(x)) = γ (W∗x − μ) / σ + β = (γ/σ · W)∗x + (β − γ μ / σ), with the running μ, σ².
    std = (bn.running_var + bn.eps).sqrt()
    scale = bn.weight / std
    return kernel * scale.reshape(-1, 1, 1, 1), bn.bias - bn.running_mean * scale


class RepVGGBlock(nn.Module):
    """One block: ReLU(3×3 conv-BN + 1×1 conv-BN [+ BN when in = out and stride 1])."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.dense = ConvBN(in_channels, out_channels, 3, stride)
        self.pointwise = ConvBN(in_channels, out_channels, 1, stride)
        has_identity = in_channels == out_channels and stride == 1
        self.identity = nn.BatchNorm2d(in_channels) if has_identity else None
        self.fused: nn.Conv2d | None = None
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fused is not None:
            return self.act(self.fused(x))
        out = self.dense(x) + self.pointwise(x)
        if self.identity is not None:
            out = out + self.identity(x)
        return self.act(out)

    @torch.no_grad()
    def fused_kernel_and_bias(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The 3×3 kernel and bias equal to the three branches in inference mode."""
        kernel, bias = _fold_bn(self.dense[0].weight, self.dense[1])
        kernel_1x1, bias_1x1 = _fold_bn(self.pointwise[0].weight, self.pointwise[1])
        kernel = kernel + F.pad(kernel_1x1, (1, 1, 1, 1))
        bias = bias + bias_1x1
        if self.identity is not None:
            identity = torch.zeros_like(kernel)
            channels = torch.arange(self.in_channels)
            identity[channels, channels, 1, 1] = 1.0
            kernel_id, bias_id = _fold_bn(identity, self.identity)
            kernel = kernel + kernel_id
            bias = bias + bias_id
        return kernel, bias

    @torch.no_grad()
    def reparameterize(self) -> None:
        """Replace the branches by one 3×3 convolution with bias, in place."""
        if self.fused is not None:
            return
        kernel, bias = self.fused_kernel_and_bias()
        fused = nn.Conv2d(
            self.in_channels,
            self.out_channels,
            3,
            self.stride,
            1,
            bias=True,
            device=kernel.device,
            dtype=kernel.dtype,
        )
        fused.weight.copy_(kernel)
        fused.bias.copy_(bias)
        self.fused = fused
        del self.dense, self.pointwise, self.identity
        self.identity = None


class RepVGG(nn.Module):
    """RepVGG classifier: five stages whose first block halves the size, then global average
    pooling and a linear layer. The defaults are A0; `width_multiplier` scales every width (at
    least 1 channel) and `blocks` sets the depth, so that tests and small CPU runs can be tiny."""

    def __init__(
        self,
        num_classes: int,
        *,
        in_channels: int = 3,
        blocks: Sequence[int] = A0_BLOCKS,
        widths: Sequence[int] = A0_WIDTHS,
        width_multiplier: float = 1.0,
    ):
        super().__init__()
        if len(blocks) != len(widths):
            raise ValueError("RepVGG needs one width per stage.")
        if any(count < 1 for count in blocks):
            raise ValueError("Every RepVGG stage needs at least one block.")
        layers: list[nn.Module] = []
        channels = in_channels
        for count, width in zip(blocks, widths, strict=True):
            out_channels = max(1, round(width * width_multiplier))
            for index in range(count):
                layers.append(RepVGGBlock(channels, out_channels, stride=2 if index == 0 else 1))
                channels = out_channels
        self.body = nn.Sequential(*layers)
        self.num_features = channels
        self.head = nn.Linear(channels, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled feature vector (N, num_features) the head classifies."""
        # A mean rather than AdaptiveAvgPool2d: its CUDA backward is not deterministic.
        return self.body(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def reparameterize(self) -> "RepVGG":
        """Fuse every block in place (use `deploy` to keep the trainable model)."""
        for module in self.modules():
            if isinstance(module, RepVGGBlock):
                module.reparameterize()
        return self

    @property
    def is_deployed(self) -> bool:
        return all(block.fused is not None for block in self.body if isinstance(block, RepVGGBlock))


def deploy(model: RepVGG) -> RepVGG:
    """A re-parameterised copy of `model` for inference, in eval mode; `model` is left as it is.

    The fusion uses BN's running statistics, so the copy equals the original in eval mode only
    (in training mode BN normalises with the batch's statistics instead).
    """
    deployed = copy.deepcopy(model)
    deployed.eval()
    return deployed.reparameterize()
