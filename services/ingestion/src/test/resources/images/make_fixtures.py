"""Writes the image fixtures of dev.kiln.ingestion.image tests and, for each, what sd-scripts trains on.

Run with Pillow (Debian's python3-pil 9.4 made the checked-in files): python3 make_fixtures.py
For every <name>.<ext> it writes <name>.<ext>.expected.png = Image.open(file).convert("RGB"), which is what
sd-scripts' load_image gives. Exception, by design (ARCHITECTURE "Where Kiln deliberately differs"):
gray16.png.expected.png holds the 16-bit values scaled to 8 bits (high byte) where Pillow would clip at 255.
Colours come in flat 8x8 blocks so that JPEG decoders agree exactly (DC-only blocks, no subsampling).
"""
import struct
import zlib
from pathlib import Path

from PIL import Image

HERE = Path(__file__).parent
W, H = 16, 16


def block_colours(seed):
    """Four 8x8 blocks of distinct RGBA colours."""
    return [((seed * 37 + i * 71) % 256, (seed * 91 + i * 53) % 256, (seed * 13 + i * 151) % 256,
             (i * 85 + 10) % 256) for i in range(4)]


def blocky(mode, seed, channel_fn):
    im = Image.new(mode, (W, H))
    colours = block_colours(seed)
    for y in range(H):
        for x in range(W):
            im.putpixel((x, y), channel_fn(colours[(y // 8) * 2 + x // 8], x, y))
    return im


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def raw_png(width, height, colour_type, rows16):
    """A 16-bit PNG written by hand (Pillow cannot save 16-bit RGB)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    raw = b"".join(b"\x00" + b"".join(struct.pack(">H", v) for v in row) for row in rows16)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw))
            + png_chunk(b"IEND", b""))


def save(name, im, **kw):
    path = HERE / name
    im.save(path, **kw)
    expect(name)


def expect(name):
    Image.open(HERE / name).convert("RGB").save(HERE / (name + ".expected.png"))


save("rgb.png", blocky("RGB", 1, lambda c, x, y: (c[0] + x, c[1] + y, c[2])))
save("rgba.png", blocky("RGBA", 2, lambda c, x, y: (c[0], c[1] + x, c[2], (c[3] + 7 * y) % 256)))
save("gray.png", blocky("L", 3, lambda c, x, y: (c[0] + x + y) % 256))
save("gray_alpha.png", blocky("LA", 4, lambda c, x, y: ((c[0] + x) % 256, (c[3] + 9 * y) % 256)))
palette = blocky("RGB", 5, lambda c, x, y: c[:3]).convert("P", palette=Image.ADAPTIVE, colors=4)
palette.info["transparency"] = 1
save("palette.png", palette, transparency=1)
save("bilevel.png", blocky("1", 13, lambda c, x, y: 255 if (x + y + c[0]) % 3 else 0))
save("palette4.png", blocky("RGB", 14, lambda c, x, y: (c[0], c[1] + x, c[2])).convert(
    "P", palette=Image.ADAPTIVE, colors=16), bits=4)

# 16-bit grayscale and 16-bit RGB, with low bytes that tell rounding, truncation and clipping apart
gray16 = [[(x * 4099 + y * 257 + 0x80) % 65536 for x in range(W)] for y in range(H)]
(HERE / "gray16.png").write_bytes(raw_png(W, H, 0, gray16))
Image.frombytes("L", (W, H), bytes(v >> 8 for row in gray16 for v in row)).convert("RGB").save(
    HERE / "gray16.png.expected.png")
rgb16 = [[v for x in range(W) for v in ((x * 4099 + 0xff) % 65536, (y * 3001 + 0x7f) % 65536, (x * y * 1021) % 65536)]
         for y in range(H)]
(HERE / "rgb16.png").write_bytes(raw_png(W, H, 2, rgb16))
expect("rgb16.png")

save("rgb.jpg", blocky("RGB", 6, lambda c, x, y: c[:3]), quality=100, subsampling=0)
save("gray.jpg", blocky("L", 7, lambda c, x, y: c[0]), quality=100)
save("cmyk.jpg", blocky("CMYK", 8, lambda c, x, y: c), quality=100)

save("lossless.webp", blocky("RGBA", 9, lambda c, x, y: (c[0] + x, c[1], c[2] + y, c[3])), lossless=True)
save("lossy.webp", blocky("RGB", 10, lambda c, x, y: c[:3]), quality=90)

save("rgb.bmp", blocky("RGB", 11, lambda c, x, y: (c[0], c[1] + y, c[2] + x)))
save("palette.bmp", blocky("RGB", 12, lambda c, x, y: c[:3]).convert("P", palette=Image.ADAPTIVE, colors=4))

# a smooth lossy WebP: WebP decoders differ in chroma upsampling, so this one is compared on average only
smooth = Image.new("RGB", (64, 64))
for y in range(64):
    for x in range(64):
        smooth.putpixel((x, y), (x * 4, y * 4, (x + y) * 2))
save("smooth.webp", smooth, quality=90)
