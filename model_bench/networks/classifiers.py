"""The comparison rows of the colposcopy study and the CNN of the CelInsight hybrid, kept small.

VGG-, ResNet-, DenseNet- and ShuffleNet-V2-style classifiers written in plain torch.nn (no
torchvision here). Each has the same interface: `features(x)` gives the globally pooled feature
vector of shape (N, num_features), which the CNN + LightGBM hybrid feeds to the trees, and
`forward(x)` applies a linear head to it. Widths and depths are options, so that the defaults follow
the published pattern while tests and CPU runs use tiny versions.

Global pooling is a mean over height and width rather than AdaptiveAvgPool2d, whose CUDA backward
torch.use_deterministic_algorithms refuses.
"""

from collections.abc import Sequence

import torch
from torch import nn


def _scaled(widths: Sequence[int], multiplier: float) -> list[int]:
    return [max(1, round(width * multiplier)) for width in widths]


def _conv_bn_relu(
    in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, groups: int = 1
) -> list[nn.Module]:
    return [
        nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            kernel_size // 2,
            groups=groups,
            bias=False,
        ),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    ]


class _PooledClassifier(nn.Module):
    """A body, global average pooling and a linear head."""

    body: nn.Module
    head: nn.Linear
    num_features: int

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class VGG(_PooledClassifier):
    """VGG with BN: stages of 3×3 conv-BN-ReLU, each followed by 2×2 max pooling. The default is
    VGG-11's pattern (1, 1, 2, 2, 2 convs; 64 … 512 wide)."""

    def __init__(
        self,
        num_classes: int,
        *,
        in_channels: int = 3,
        convs: Sequence[int] = (1, 1, 2, 2, 2),
        widths: Sequence[int] = (64, 128, 256, 512, 512),
        width_multiplier: float = 1.0,
    ):
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for count, width in zip(convs, _scaled(widths, width_multiplier), strict=True):
            for _ in range(count):
                layers += _conv_bn_relu(channels, width)
                channels = width
            layers.append(nn.MaxPool2d(2))
        self.body = nn.Sequential(*layers)
        self.num_features = channels
        self.head = nn.Linear(channels, num_classes)


class BasicBlock(nn.Module):
    """Two 3×3 conv-BN with a shortcut (a 1×1 conv-BN when the shape changes)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.residual = nn.Sequential(
            *_conv_bn_relu(in_channels, out_channels, stride=stride),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.residual(x) + self.shortcut(x))


class ResNet(_PooledClassifier):
    """ResNet with basic blocks: a 7×7 stride-2 stem and max pooling, then stages that halve the
    size (but the first). The default is ResNet-18 (2, 2, 2, 2 blocks; 64 … 512 wide)."""

    def __init__(
        self,
        num_classes: int,
        *,
        in_channels: int = 3,
        blocks: Sequence[int] = (2, 2, 2, 2),
        widths: Sequence[int] = (64, 128, 256, 512),
        width_multiplier: float = 1.0,
    ):
        super().__init__()
        widths = _scaled(widths, width_multiplier)
        layers: list[nn.Module] = [
            *_conv_bn_relu(in_channels, widths[0], kernel_size=7, stride=2),
            nn.MaxPool2d(3, stride=2, padding=1),
        ]
        channels = widths[0]
        for stage, (count, width) in enumerate(zip(blocks, widths, strict=True)):
            for index in range(count):
                stride = 2 if index == 0 and stage > 0 else 1
                layers.append(BasicBlock(channels, width, stride))
                channels = width
        self.body = nn.Sequential(*layers)
        self.num_features = channels
        self.head = nn.Linear(channels, num_classes)


class DenseLayer(nn.Module):
    """BN-ReLU-1×1 conv (to 4k) - BN-ReLU-3×3 conv (to k), concatenated to its input."""

    def __init__(self, in_channels: int, growth_rate: int, bottleneck: int = 4):
        super().__init__()
        self.layers = nn.Sequential(
            nn.BatchNorm2d(in_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(in_channels, bottleneck * growth_rate, 1, bias=False),
            nn.BatchNorm2d(bottleneck * growth_rate),
            nn.ReLU(inplace=True),
            nn.Conv2d(bottleneck * growth_rate, growth_rate, 3, padding=1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.layers(x)], dim=1)


class DenseNet(_PooledClassifier):
    """DenseNet-BC: dense blocks separated by transitions (BN-ReLU-1×1 conv that keeps
    `compression` of the channels, 2×2 average pooling). The default follows DenseNet-121's
    (6, 12, 24, 16) layers with a small growth rate of 12 instead of 32."""

    def __init__(
        self,
        num_classes: int,
        *,
        in_channels: int = 3,
        layers: Sequence[int] = (6, 12, 24, 16),
        growth_rate: int = 12,
        stem_width: int | None = None,
        compression: float = 0.5,
    ):
        super().__init__()
        channels = stem_width or 2 * growth_rate
        modules: list[nn.Module] = [
            *_conv_bn_relu(in_channels, channels, kernel_size=7, stride=2),
            nn.MaxPool2d(3, stride=2, padding=1),
        ]
        for index, count in enumerate(layers):
            for _ in range(count):
                modules.append(DenseLayer(channels, growth_rate))
                channels += growth_rate
            if index < len(layers) - 1:
                reduced = max(1, int(channels * compression))
                modules += [
                    nn.BatchNorm2d(channels),
                    nn.ReLU(inplace=True),
                    nn.Conv2d(channels, reduced, 1, bias=False),
                    nn.AvgPool2d(2),
                ]
                channels = reduced
        modules += [nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
        self.body = nn.Sequential(*modules)
        self.num_features = channels
        self.head = nn.Linear(channels, num_classes)


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of `groups` groups so that the next unit mixes their information."""
    batch, channels, height, width = x.shape
    x = x.reshape(batch, groups, channels // groups, height, width).transpose(1, 2)
    return x.reshape(batch, channels, height, width)


class ShuffleUnit(nn.Module):
    """ShuffleNet V2 unit. Stride 1: half the channels pass through untouched, the other half goes
    through 1×1 conv, 3×3 depthwise conv, 1×1 conv. Stride 2: both halves are the whole input,
    each down-sampled by its own branch, doubling the channels. Then a channel shuffle."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        if out_channels % 2:
            raise ValueError("A ShuffleNet V2 unit needs an even number of output channels.")
        if stride == 1 and in_channels != out_channels:
            raise ValueError("A stride-1 ShuffleNet V2 unit keeps its number of channels.")
        self.stride = stride
        half = out_channels // 2
        branch_in = in_channels if stride == 2 else half
        self.branch = nn.Sequential(
            *_conv_bn_relu(branch_in, half, kernel_size=1),
            nn.Conv2d(half, half, 3, stride, 1, groups=half, bias=False),
            nn.BatchNorm2d(half),
            *_conv_bn_relu(half, half, kernel_size=1),
        )
        self.shortcut: nn.Module | None = None
        if stride == 2:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, in_channels, 3, 2, 1, groups=in_channels, bias=False),
                nn.BatchNorm2d(in_channels),
                *_conv_bn_relu(in_channels, half, kernel_size=1),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.shortcut is None:
            kept, transformed = x.chunk(2, dim=1)
            out = torch.cat([kept, self.branch(transformed)], dim=1)
        else:
            out = torch.cat([self.shortcut(x), self.branch(x)], dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(_PooledClassifier):
    """ShuffleNet V2: a 3×3 stride-2 stem and max pooling, stages of shuffle units (the first of
    each with stride 2), a final 1×1 conv. The default is the 1.0× model (4, 8, 4 units; 116, 232,
    464 wide; 1024 features); `width_multiplier` scales the stage widths (kept even)."""

    def __init__(
        self,
        num_classes: int,
        *,
        in_channels: int = 3,
        units: Sequence[int] = (4, 8, 4),
        widths: Sequence[int] = (116, 232, 464),
        stem_width: int = 24,
        final_width: int = 1024,
        width_multiplier: float = 1.0,
    ):
        super().__init__()
        layers: list[nn.Module] = [
            *_conv_bn_relu(in_channels, stem_width, stride=2),
            nn.MaxPool2d(3, stride=2, padding=1),
        ]
        channels = stem_width
        for count, width in zip(units, widths, strict=True):
            width = max(2, 2 * round(width * width_multiplier / 2))
            for index in range(count):
                layers.append(ShuffleUnit(channels, width, stride=2 if index == 0 else 1))
                channels = width
        layers += _conv_bn_relu(channels, final_width, kernel_size=1)
        self.body = nn.Sequential(*layers)
        self.num_features = final_width
        self.head = nn.Linear(final_width, num_classes)
