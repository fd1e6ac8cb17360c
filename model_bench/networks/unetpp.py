"""UNet++ (Zhou et al., 2018): a U-Net whose skip connections are nested, dense convolution paths.

Node X^{i,j} sits at depth i (i down-samplings) and column j. Column 0 is the encoder. For j ≥ 1,
X^{i,j} convolves the concatenation of every earlier node of its row, X^{i,0} … X^{i,j-1}, with the
up-sampled X^{i+1,j-1}; so the decoder at the top row sees features refined at each scale instead
of the raw encoder output a plain U-Net skips across.

With deep supervision, a 1×1 head on each of X^{0,1} … X^{0,depth} gives a mask: while training the
network returns all of them (the loss averages them); at inference it averages their logits, or in
"fast" mode returns only X^{0,level} and computes only the nodes that one needs (i + j ≤ level),
the pruning the paper proposes for speed.
"""

import torch
import torch.nn.functional as F
from torch import nn

MODES = ("average", "fast")


class ConvBlock(nn.Sequential):
    """(3×3 conv → BN → ReLU) × 2, the unit of every node."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class UNetPlusPlus(nn.Module):
    """UNet++ returning logits with `num_classes` channels (1 for a binary mask).

    `depth` is the number of down-samplings (4: nodes X^{0,0} … X^{4,0}, as in the paper), the
    width of row i is `base_width · 2^i`. Height and width must be divisible by 2^depth: the
    network raises a ValueError naming the sizes otherwise, or, with `pad_input=True`, pads the
    image with zeros on the bottom and right and crops the mask back to the input's size.

    Up-sampling is a learnt 2×2 transposed convolution: it has a deterministic CUDA backward,
    where bilinear interpolation does not (torch.use_deterministic_algorithms refuses it).
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 1,
        *,
        depth: int = 4,
        base_width: int = 32,
        deep_supervision: bool = False,
        mode: str = "average",
        fast_level: int | None = None,
        pad_input: bool = False,
    ):
        super().__init__()
        if depth < 1:
            raise ValueError("UNet++ needs a depth of at least 1.")
        if mode not in MODES:
            raise ValueError(f"Unknown inference mode {mode!r}; choose one of {MODES}.")
        if fast_level is not None and not 1 <= fast_level <= depth:
            raise ValueError(f"fast_level must be between 1 and the depth ({depth}).")
        self.depth = depth
        self.num_classes = num_classes
        self.deep_supervision = deep_supervision
        self.mode = mode
        self.fast_level = fast_level if fast_level is not None else depth
        self.pad_input = pad_input
        widths = [base_width * 2**i for i in range(depth + 1)]
        self.pool = nn.MaxPool2d(2)
        # nodes["i_j"] is X^{i,j}; ups["i_j"] up-samples X^{i+1,j-1} for it.
        self.nodes = nn.ModuleDict()
        self.ups = nn.ModuleDict()
        for i in range(depth + 1):
            self.nodes[f"{i}_0"] = ConvBlock(in_channels if i == 0 else widths[i - 1], widths[i])
        for j in range(1, depth + 1):
            for i in range(depth + 1 - j):
                self.ups[f"{i}_{j}"] = nn.ConvTranspose2d(widths[i + 1], widths[i + 1], 2, stride=2)
                self.nodes[f"{i}_{j}"] = ConvBlock(j * widths[i] + widths[i + 1], widths[i])
        head_columns = range(1, depth + 1) if deep_supervision else [depth]
        self.heads = nn.ModuleDict(
            {str(j): nn.Conv2d(widths[0], num_classes, 1) for j in head_columns}
        )

    @property
    def size_multiple(self) -> int:
        return 2**self.depth

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        if self.deep_supervision and self.training:
            return self.forward_all(x)
        if self.deep_supervision and self.mode == "average":
            return torch.stack(self.forward_all(x)).mean(0)
        level = self.fast_level if self.deep_supervision else self.depth
        fitted = self._fit(x)
        height, width = x.shape[-2:]
        nodes = self._nodes(fitted, level)
        return self.heads[str(level)](nodes[f"0_{level}"])[..., :height, :width]

    def forward_all(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The logits of every deep-supervision head, X^{0,1} first (needs deep_supervision)."""
        if not self.deep_supervision:
            raise ValueError("forward_all needs a UNet++ built with deep_supervision=True.")
        fitted = self._fit(x)
        height, width = x.shape[-2:]
        nodes = self._nodes(fitted, self.depth)
        return [
            self.heads[str(j)](nodes[f"0_{j}"])[..., :height, :width]
            for j in range(1, self.depth + 1)
        ]

    def _nodes(self, x: torch.Tensor, level: int) -> dict[str, torch.Tensor]:
        # Only the nodes X^{0,level} depends on: the encoder down to `level`, then i + j ≤ level.
        nodes = {"0_0": self.nodes["0_0"](x)}
        for i in range(1, level + 1):
            nodes[f"{i}_0"] = self.nodes[f"{i}_0"](self.pool(nodes[f"{i - 1}_0"]))
        for j in range(1, level + 1):
            for i in range(level + 1 - j):
                row = [nodes[f"{i}_{k}"] for k in range(j)]
                below = self.ups[f"{i}_{j}"](nodes[f"{i + 1}_{j - 1}"])
                nodes[f"{i}_{j}"] = self.nodes[f"{i}_{j}"](torch.cat([*row, below], dim=1))
        return nodes

    def _fit(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"UNet++ takes a batch (N, C, H, W); got shape {tuple(x.shape)}.")
        height, width = x.shape[-2:]
        multiple = self.size_multiple
        if height % multiple == 0 and width % multiple == 0:
            return x
        if not self.pad_input:
            raise ValueError(
                f"UNet++ of depth {self.depth} needs a height and width divisible by {multiple}; "
                f"got {height}×{width}. Resize the images (e.g. to "
                f"{_round_up(height, multiple)}×{_round_up(width, multiple)}) or build the "
                "network with pad_input=True."
            )
        pad_bottom = _round_up(height, multiple) - height
        pad_right = _round_up(width, multiple) - width
        return F.pad(x, (0, pad_right, 0, pad_bottom))


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple
