"""Overlays: a boolean mask as a small PNG to lay over the preview.

The PNG is written directly (PNG specification, ISO/IEC 15948: signature, IHDR, PLTE, tRNS,
IDAT, IEND): a 1-bit palette image, transparent where the mask is False and the colour at the
given opacity where it is True. numpy packs the bits and zlib compresses them; going through
Pillow's encoder for an image this small costs five times as much (its set-up, not the work),
and the checks write two overlays per image.
"""

import struct
import zlib

import numpy as np

GLARE_COLOUR = (0, 200, 255)  # cyan: stands out on pink and white tissue
BLOOD_COLOUR = (255, 230, 0)  # yellow: stands out on red
OPACITY = 170

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_BIT_DEPTH, _PALETTE = 1, 3  # IHDR: one bit per pixel, colour type 3 (indexed)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def mask_png(mask: np.ndarray, colour: tuple[int, int, int], opacity: int = OPACITY) -> bytes:
    """A PNG the size of `mask`: palette entry 0 (transparent) where False, entry 1 (`colour` at
    `opacity`) where True."""
    height, width = mask.shape
    packed = np.packbits(mask.astype(bool, copy=False), axis=1)  # rows padded to whole bytes
    scanlines = np.zeros((height, packed.shape[1] + 1), dtype=np.uint8)  # filter byte 0: none
    scanlines[:, 1:] = packed
    header = struct.pack(">IIBBBBB", width, height, _BIT_DEPTH, _PALETTE, 0, 0, 0)
    return b"".join(
        (
            _SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"PLTE", bytes((0, 0, 0, *colour))),
            _chunk(b"tRNS", bytes((0, opacity))),
            _chunk(b"IDAT", zlib.compress(scanlines.tobytes(), 1)),
            _chunk(b"IEND", b""),
        )
    )
