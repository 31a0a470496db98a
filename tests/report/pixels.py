"""Find the report's figures in a screenshot by their fill colours, and measure their ink.

The map and the plot areas have fill colours used nowhere else (verifier/report/html.py's
`.map-bg` and `.plot-bg`), so their pixels locate the figures without any layout knowledge.
"""

from __future__ import annotations

from PIL import Image, ImageChops

MAP_BG = (0xF3, 0xF6, 0xF2)
PLOT_BG = (0xFB, 0xFC, 0xFD)
TRACK = (0x1F, 0x5F, 0xA8)


def mask(im: Image.Image, rgb: tuple[int, int, int], tol: int = 0) -> Image.Image:
    """An L image: 255 where the pixel is within `tol` of `rgb` on every channel."""
    bands = im.convert("RGB").split()
    out = None
    for band, want in zip(bands, rgb, strict=True):
        m = band.point(lambda v, w=want: 255 if abs(v - w) <= tol else 0)
        out = m if out is None else ImageChops.multiply(out, m)
    assert out is not None
    return out


def count(m: Image.Image) -> int:
    return sum(m.histogram()[128:])


def bands(m: Image.Image, min_pixels: int, gap: int = 6) -> list[tuple[int, int]]:
    """Row ranges [top, bottom) where rows have at least `min_pixels` masked pixels; ranges
    split by fewer than `gap` rows (a grid line across a plot) are one."""
    rows = m.resize((1, m.height), Image.Resampling.BOX).tobytes()
    threshold = 255 * min_pixels / m.width
    out: list[tuple[int, int]] = []
    top = None
    for y, v in enumerate([*rows, 0]):
        if v >= threshold and top is None:
            top = y
        elif v < threshold and top is not None:
            if out and top - out[-1][1] < gap:
                top = out.pop()[0]
            out.append((top, y))
            top = None
    return out


def ink(im: Image.Image, box: tuple[int, int, int, int], bg: tuple[int, int, int]) -> int:
    """Pixels in `box` that are neither the figure's fill nor white: what was drawn on it."""
    region = im.convert("RGB").crop(box)
    drawn = ImageChops.multiply(
        ImageChops.invert(mask(region, bg, 2)), ImageChops.invert(mask(region, (255, 255, 255), 2))
    )
    return count(drawn)
