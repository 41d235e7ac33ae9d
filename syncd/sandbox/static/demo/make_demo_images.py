"""Write the sandbox's demo photos (house-01.png ... house-12.png) with a tiny PNG encoder.

Run ``python make_demo_images.py`` in this folder to regenerate them. Standard library only;
flat colours keep each file small. Not imported by the sandbox at runtime.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

WIDTH, HEIGHT = 320, 240
Colour = tuple[int, int, int]

SKIES: list[Colour] = [(135, 206, 235), (176, 196, 222), (255, 204, 153), (120, 170, 220)]
WALLS: list[Colour] = [
    (178, 34, 34),
    (240, 230, 140),
    (245, 245, 245),
    (70, 130, 180),
    (205, 133, 63),
    (112, 128, 144),
]
ROOFS: list[Colour] = [(60, 60, 60), (139, 69, 19), (25, 25, 112)]
GRASS: Colour = (60, 150, 60)
GLASS: Colour = (200, 230, 255)
DOOR: Colour = (90, 50, 20)


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def encode_png(pixels: list[list[Colour]]) -> bytes:
    height, width = len(pixels), len(pixels[0])
    raw = b"".join(b"\x00" + bytes(c for px in row for c in px) for row in pixels)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def house(n: int) -> list[list[Colour]]:
    sky, wall, roof = SKIES[n % 4], WALLS[n % 6], ROOFS[n % 3]
    img = [[sky if y < 170 else GRASS for _ in range(WIDTH)] for y in range(HEIGHT)]
    left, right, top, base = 70 + 4 * n, 250 - 2 * n, 100, 190

    def fill(x0: int, y0: int, x1: int, y1: int, colour: Colour) -> None:
        for y in range(max(0, y0), min(HEIGHT, y1)):
            for x in range(max(0, x0), min(WIDTH, x1)):
                img[y][x] = colour

    fill(left, top, right, base, wall)
    apex = (left + right) // 2
    for y in range(top - 55, top):  # the roof: a triangle over the walls
        half = (y - (top - 55)) * (right - left + 20) // 110
        fill(apex - half, y, apex + half, y + 1, roof)
    fill(apex - 12, base - 45, apex + 12, base, DOOR)
    for x in (left + 15, right - 45):
        fill(x, top + 20, x + 30, top + 45, GLASS)
    fill(260, 20, 290, 50, (255, 215, 0) if n % 2 else sky)  # a sun on odd houses
    return img


def main() -> None:
    here = Path(__file__).parent
    for n in range(1, 13):
        (here / f"house-{n:02d}.png").write_bytes(encode_png(house(n)))


if __name__ == "__main__":
    main()
