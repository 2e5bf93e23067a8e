"""Draw the add-on's icon.png (128x128) and logo.png (250x100) with the standard library.

A crescent moon above a movement trace, on a night-blue rounded square. Kept as code so
the pictures can be redrawn without an image editor or Pillow:
    python scripts/addon_images.py docker/addon
"""

from __future__ import annotations

import math
import struct
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

RGBA = tuple[int, int, int, int]
NIGHT: RGBA = (24, 32, 72, 255)
MOON: RGBA = (250, 214, 110, 255)
TRACE: RGBA = (120, 200, 255, 255)
CLEAR: RGBA = (0, 0, 0, 0)
SUPERSAMPLE = 4


def encode_png(width: int, height: int, pixels: list[list[RGBA]]) -> bytes:
    """A truecolour-with-alpha PNG of `pixels` (rows of RGBA tuples)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + bytes(v for px in row for v in px) for row in pixels)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _rounded_rect(x: float, y: float, w: float, h: float, r: float) -> bool:
    dx = max(r - x, 0.0, x - (w - r))
    dy = max(r - y, 0.0, y - (h - r))
    return dx * dx + dy * dy <= r * r


def scene(
    w: float, h: float, moon_x: float, moon_y: float, moon_r: float
) -> Callable[[float, float], RGBA]:
    """The colour at (x, y) of the picture of size w×h."""

    def trace_y(x: float) -> float:
        # A calm breathing wave with one sharp twitch in the middle.
        twitch = math.exp(-(((x - 0.55 * w) / (0.03 * w)) ** 2)) * 0.16 * h
        return 0.78 * h + 0.03 * h * math.sin(x / w * 6 * math.pi) - twitch

    def colour(x: float, y: float) -> RGBA:
        if not _rounded_rect(x, y, w, h, 0.18 * min(w, h)):
            return CLEAR
        in_moon = (x - moon_x) ** 2 + (y - moon_y) ** 2 <= moon_r**2
        bite = (x - moon_x - 0.45 * moon_r) ** 2 + (y - moon_y + 0.3 * moon_r) ** 2 <= (
            0.8 * moon_r
        ) ** 2
        if in_moon and not bite:
            return MOON
        if 0.1 * w <= x <= 0.9 * w and abs(y - trace_y(x)) <= 0.025 * h:
            return TRACE
        return NIGHT

    return colour


def render(width: int, height: int, colour: Callable[[float, float], RGBA]) -> list[list[RGBA]]:
    """Rows of pixels, each the average of SUPERSAMPLE² samples (smooth edges)."""
    rows = []
    n = SUPERSAMPLE
    for py in range(height):
        row = []
        for px in range(width):
            samples = [
                colour(px + (i + 0.5) / n, py + (j + 0.5) / n) for i in range(n) for j in range(n)
            ]
            alpha = sum(s[3] for s in samples)
            if alpha == 0:
                row.append(CLEAR)
                continue
            rgb = [round(sum(s[c] * s[3] for s in samples) / alpha) for c in range(3)]
            row.append((rgb[0], rgb[1], rgb[2], round(alpha / len(samples))))
        rows.append(row)
    return rows


def main(out_dir: str) -> None:
    """Write icon.png and logo.png into `out_dir`."""
    out = Path(out_dir)
    icon = render(128, 128, scene(128, 128, 64, 48, 30))
    (out / "icon.png").write_bytes(encode_png(128, 128, icon))
    logo = render(250, 100, scene(250, 100, 125, 38, 26))
    (out / "logo.png").write_bytes(encode_png(250, 100, logo))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docker/addon")
