#!/usr/bin/python3
"""Writes tests/fixtures/images/: small images in every format/mode zeroclip decodes, with the RGB
pixels Pillow gives for Image.open(f).convert("RGB"), Pillow BICUBIC resizes, CLIPImageProcessor
crops and pixel values, and a few malformed files. Run with /usr/bin/python3 (Pillow 9.4, numpy).

index.json lists the cases; expected pixels are raw interleaved RGB bytes (*.rgb) and pixel values
raw little-endian float32 CHW (*.f32). 16-bit PNGs expect round(v / 257), not Pillow's saturation.
"""
import io
import json
import os
import struct
import zlib

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "images")
W, H = 31, 23  # odd sizes exercise partial MCUs, row padding and odd interlace passes


def photo(w=W, h=H, seed=0):
    """Smooth gradients plus mild noise: compresses well and exercises every channel."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 255 * x / (w - 1)
    g = 255 * y / (h - 1)
    b = 128 + 100 * np.sin(x / 3.0) * np.cos(y / 4.0)
    img = np.stack([r, g, b], -1) + rng.normal(0, 6, (h, w, 3))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bytes(samples, bit_depth, color_type, palette=None, interlace=False, width=None):
    """A PNG from an array of samples (h, w, channels) with filter type 0 on every row."""
    h, w = samples.shape[:2]
    width = width or w

    def rows(a):
        out = b""
        for row in a:
            if bit_depth == 16:
                data = row.astype(">u2").tobytes()
            elif bit_depth == 8:
                data = row.astype(np.uint8).tobytes()
            else:
                data = np.packbits(np.unpackbits(row.astype(np.uint8).reshape(-1, 1), axis=1)[:, 8 - bit_depth:]).tobytes()
            out += b"\x00" + data
        return out

    if interlace:
        raw = b""
        for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
            sub = samples[y0::dy, x0::dx]
            if sub.size:
                raw += rows(sub)
    else:
        raw = rows(samples)
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, h, bit_depth, color_type, 0, 0, int(interlace)))
    if palette is not None:
        out += png_chunk(b"PLTE", bytes(palette))
    return out + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")


def bmp_bytes(width, height, bits, rows, palette=b"", compression=0, top_down=False, masks=(), header_size=40):
    """A BMP from already encoded pixel data in file order. Bitfield masks follow a 40-byte
    header and sit inside larger ones."""
    mask_bytes = struct.pack(f"<{len(masks)}I", *masks)
    trailing = mask_bytes if header_size == 40 else b""
    offset = 14 + header_size + len(trailing) + len(palette)
    if header_size == 12:
        info = struct.pack("<IHHHH", 12, width, height, 1, bits)
    else:
        info = struct.pack("<IiiHHIIiiII", header_size, width, -height if top_down else height, 1, bits,
                           compression, len(rows), 2835, 2835, len(palette) // 4, 0)
        if header_size > 40:
            info += mask_bytes.ljust(16, b"\x00")
        info = info.ljust(header_size, b"\x00")
    return b"BM" + struct.pack("<IHHI", offset + len(rows), 0, 0, offset) + info + trailing + palette + rows


def pad_rows(data_rows, bits, width):
    stride = ((width * bits + 31) >> 3) & ~3
    return b"".join(r + b"\x00" * (stride - len(r)) for r in data_rows)


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    index = {"decode": [], "resize": [], "preprocess": [], "invalid": []}
    rgb = photo()
    base = Image.fromarray(rgb, "RGB")

    def write(name, data):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)

    def add_decode(name, data, expected=None):
        """Stores a file and, unless given, Pillow's convert("RGB") of it as the expectation."""
        write(name, data)
        if expected is None:
            expected = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        stem = os.path.splitext(name)[0]
        write(stem + ".rgb", expected.astype(np.uint8).tobytes())
        index["decode"].append({"file": name, "expected": stem + ".rgb",
                                "width": int(expected.shape[1]), "height": int(expected.shape[0])})

    def saved(image, fmt, **options):
        buf = io.BytesIO()
        image.save(buf, fmt, **options)
        return buf.getvalue()

    # JPEG: baseline 4:2:0, progressive, 4:4:4, 4:2:2, greyscale, CMYK (Adobe, inverted).
    add_decode("jpeg_baseline.jpg", saved(base, "JPEG", quality=90))
    add_decode("jpeg_progressive.jpg", saved(base, "JPEG", quality=85, progressive=True))
    add_decode("jpeg_444.jpg", saved(base, "JPEG", quality=95, subsampling=0))
    add_decode("jpeg_422.jpg", saved(base, "JPEG", quality=80, subsampling=1))
    add_decode("jpeg_gray.jpg", saved(base.convert("L"), "JPEG", quality=90))
    add_decode("jpeg_cmyk.jpg", saved(base.convert("CMYK"), "JPEG", quality=90))

    # PNG: Pillow-written 8-bit modes, plus hand-written 16-bit, low bit depth and interlaced.
    alpha = np.linspace(0, 255, W * H).reshape(H, W).astype(np.uint8)
    add_decode("png_rgb.png", saved(base, "PNG"))
    add_decode("png_rgba.png", saved(Image.fromarray(np.dstack([rgb, alpha]), "RGBA"), "PNG"))
    pal = base.quantize(colors=16)
    pal.info["transparency"] = 3
    add_decode("png_palette_trns.png", saved(pal, "PNG", transparency=3))
    add_decode("png_gray.png", saved(base.convert("L"), "PNG"))
    add_decode("png_gray_alpha.png", saved(Image.merge("LA", [base.convert("L"), Image.fromarray(alpha)]), "PNG"))
    rgb16 = (rgb.astype(np.uint32) * 257 + np.random.default_rng(1).integers(-128, 129, rgb.shape)).clip(0, 65535)
    add_decode("png_rgb16.png", png_bytes(rgb16, 16, 2), expected=np.floor(rgb16 / 257 + 0.5))
    rgba16 = np.dstack([rgb16, np.full((H, W), 40000)])
    add_decode("png_rgba16.png", png_bytes(rgba16, 16, 6), expected=np.floor(rgb16 / 257 + 0.5))
    gray16 = rgb16[:, :, 1]
    add_decode("png_gray16.png", png_bytes(gray16[:, :, None], 16, 0),
               expected=np.repeat(np.floor(gray16 / 257 + 0.5)[:, :, None], 3, 2))
    add_decode("png_gray2.png", png_bytes((rgb[:, :, :1] >> 6), 2, 0))
    # 4-bit palette with 5 colours: indices 5..15 show Pillow's grey-ramp default entries.
    add_decode("png_palette4.png", png_bytes(rgb[:, :, :1] >> 4, 4, 3, palette=[200, 10, 10, 10, 200, 10, 10, 10, 200, 90, 90, 0, 0, 90, 90]))
    add_decode("png_interlaced.png", png_bytes(rgb, 8, 2, interlace=True))
    add_decode("png_interlaced_la.png", png_bytes(np.dstack([rgb[:, :, 0], alpha]), 8, 4, interlace=True))

    # WebP: lossy, lossless, each also with alpha.
    add_decode("webp_lossy.webp", saved(base, "WEBP", quality=80))
    add_decode("webp_lossless.webp", saved(base, "WEBP", lossless=True))
    add_decode("webp_lossy_alpha.webp", saved(Image.fromarray(np.dstack([rgb, alpha]), "RGBA"), "WEBP", quality=80))
    add_decode("webp_alpha.webp", saved(Image.fromarray(np.dstack([rgb, alpha]), "RGBA"), "WEBP", lossless=True, exact=True))

    # BMP: Pillow-written 24-bit and 8-bit palette, then hand-written variants.
    add_decode("bmp_24.bmp", saved(base, "BMP"))
    add_decode("bmp_8.bmp", saved(base.quantize(colors=32), "BMP"))
    bgr_rows = [row[:, ::-1].tobytes() for row in rgb[::-1]]
    add_decode("bmp_24_top_down.bmp", bmp_bytes(W, H, 24, pad_rows([r[:, ::-1].tobytes() for r in rgb], 24, W), top_down=True))
    bgra = np.dstack([rgb[:, :, ::-1], alpha])
    add_decode("bmp_32.bmp", bmp_bytes(W, H, 32, bgra[::-1].tobytes()))
    add_decode("bmp_32_bitfields_rgba.bmp", bmp_bytes(W, H, 32, np.dstack([rgb, alpha])[::-1].tobytes(), compression=3,
                                                      masks=(0xFF, 0xFF00, 0xFF0000, 0xFF000000), header_size=108))
    p565 = ((rgb[:, :, 0].astype(np.uint16) >> 3) << 11) | ((rgb[:, :, 1].astype(np.uint16) >> 2) << 5) | (rgb[:, :, 2] >> 3)
    add_decode("bmp_16_565.bmp", bmp_bytes(W, H, 16, pad_rows([r.astype("<u2").tobytes() for r in p565[::-1]], 16, W),
                                           compression=3, masks=(0xF800, 0x7E0, 0x1F)))
    p555 = ((rgb[:, :, 0].astype(np.uint16) >> 3) << 10) | ((rgb[:, :, 1].astype(np.uint16) >> 3) << 5) | (rgb[:, :, 2] >> 3)
    add_decode("bmp_16.bmp", bmp_bytes(W, H, 16, pad_rows([r.astype("<u2").tobytes() for r in p555[::-1]], 16, W)))
    idx4 = (rgb[:, :, 0] >> 4).astype(np.uint8)
    palette16 = b"".join(bytes([i * 16, 255 - i * 16, (i * 53) % 256, 0]) for i in range(16))
    add_decode("bmp_4.bmp", bmp_bytes(W, H, 4, pad_rows([np.packbits(np.unpackbits(r[:, None], axis=1)[:, 4:]).tobytes() for r in idx4[::-1]], 4, W),
                                      palette=palette16))
    idx1 = (rgb[:, :, 1] > 128).astype(np.uint8)
    add_decode("bmp_1.bmp", bmp_bytes(W, H, 1, pad_rows([np.packbits(r).tobytes() for r in idx1[::-1]], 1, W),
                                      palette=bytes([10, 20, 30, 0, 200, 150, 100, 0])))
    add_decode("bmp_os2_24.bmp", bmp_bytes(W, H, 24, b"".join(bgr_rows[i] + b"\x00" * ((-W * 3) % 4) for i in range(H)),
                                           header_size=12))

    def rle8(indices):
        out = b""
        for row in indices[::-1]:
            x = 0
            while x < len(row):
                n = 1
                while x + n < len(row) and n < 255 and row[x + n] == row[x]:
                    n += 1
                out += bytes([n, row[x]])
                x += n
            out += b"\x00\x00"
        return out + b"\x00\x01"

    idx8 = (rgb[:, :, 0] >> 5).astype(np.uint8)
    palette8 = b"".join(bytes([i * 30, 100, 255 - i * 30, 0]) for i in range(8))
    add_decode("bmp_rle8.bmp", bmp_bytes(W, H, 8, rle8(idx8), palette=palette8, compression=1))

    # GIF: interlaced (Pillow's default) with a transparent index, and a plain first frame of two.
    gif_p = base.quantize(colors=64)
    add_decode("gif_interlaced_trns.gif", saved(gif_p, "GIF", transparency=5))
    second = Image.fromarray(photo(seed=7)).quantize(colors=64)
    add_decode("gif_anim_first_frame.gif", saved(gif_p, "GIF", save_all=True, append_images=[second], interlace=False, duration=50))

    # Resizes of the RGB photo: up, down, one axis only, mixed, and a large downscale.
    big = Image.fromarray(photo(97, 61, seed=3), "RGB")
    write("resize_src_small.rgb", rgb.tobytes())
    write("resize_src_big.rgb", np.asarray(big).tobytes())
    sources = {"resize_src_small.rgb": (base, W, H), "resize_src_big.rgb": (big, 97, 61)}
    for src, (w, h) in [("resize_src_small.rgb", (64, 50)), ("resize_src_small.rgb", (16, 11)),
                        ("resize_src_small.rgb", (37, 11)), ("resize_src_small.rgb", (9, 29)),
                        ("resize_src_small.rgb", (80, 7)), ("resize_src_big.rgb", (10, 7)),
                        ("resize_src_big.rgb", (31, 224))]:
        image, sw, sh = sources[src]
        name = f"resize_{os.path.splitext(src)[0][11:]}_{w}x{h}.rgb"
        write(name, np.asarray(image.resize((w, h), Image.BICUBIC)).tobytes())
        index["resize"].append({"source": src, "source_width": sw, "source_height": sh,
                                "width": w, "height": h, "expected": name})

    # CLIPImageProcessor: shortest edge + centre crop, and exact size + zero padded crop.
    mean = np.array([0.48145466, 0.4578275, 0.40821073], np.float32)
    std = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)

    def center_crop(a, ch, cw):  # transformers.image_transforms.center_crop, channels last
        h, w = a.shape[:2]
        top, left = (h - ch) // 2, (w - cw) // 2
        if top >= 0 and left >= 0 and top + ch <= h and left + cw <= w:
            return a[top:top + ch, left:left + cw]
        nh, nw = max(ch, h), max(cw, w)
        padded = np.zeros((nh, nw, 3), a.dtype)
        tp, lp = -(-(nh - h) // 2), -(-(nw - w) // 2)
        padded[tp:tp + h, lp:lp + w] = a
        top, left = top + tp, left + lp
        return padded[max(0, top):min(nh, top + ch), max(0, left):min(nw, left + cw)]

    for name, size, crop in [("preprocess_shortest16_crop16", {"shortest_edge": 16}, {"height": 16, "width": 16}),
                             ("preprocess_exact20x18_crop24x23", {"height": 20, "width": 18}, {"height": 24, "width": 23})]:
        if "shortest_edge" in size:
            s = size["shortest_edge"]
            short, long = (W, H) if W <= H else (H, W)
            new_long = int(s * long / short)
            out_w, out_h = (s, new_long) if W <= H else (new_long, s)
        else:
            out_w, out_h = size["width"], size["height"]
        cropped = center_crop(np.asarray(base.resize((out_w, out_h), Image.BICUBIC)), crop["height"], crop["width"])
        values = ((cropped.astype(np.float64) * (1 / 255)).astype(np.float32) - mean) / std
        config = {"do_resize": True, "size": size, "do_center_crop": True, "crop_size": crop, "do_rescale": True,
                  "rescale_factor": 0.00392156862745098, "do_normalize": True, "image_mean": mean.astype(float).tolist(),
                  "image_std": std.astype(float).tolist(), "resample": 3, "do_convert_rgb": True}
        write(name + ".json", json.dumps(config, indent=1).encode())
        write(name + ".rgb", cropped.tobytes())
        write(name + ".f32", values.transpose(2, 0, 1).astype("<f4").tobytes())
        index["preprocess"].append({"source": "resize_src_small.rgb", "source_width": W, "source_height": H,
                                    "config": name + ".json", "width": crop["width"], "height": crop["height"],
                                    "expected": name + ".rgb", "pixel_values": name + ".f32"})

    # Malformed headers declaring 100000x100000 (or the largest a format allows) pixels.
    huge_png = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)) + \
        png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + png_chunk(b"IEND", b"")
    huge_bmp = bmp_bytes(100000, 100000, 24, b"\x00" * 64)
    huge_gif = b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0, 0, 0) + b",\x00\x00\x00\x00" + \
        struct.pack("<HH", 65535, 65535) + b"\x00\x02\x02\x44\x01\x00;"
    jpeg = bytearray(saved(base, "JPEG", quality=50))
    sof = jpeg.index(b"\xff\xc0")
    jpeg[sof + 5:sof + 9] = struct.pack(">HH", 65500, 65500)
    for name, data in [("huge_dims.png", huge_png), ("huge_dims.bmp", huge_bmp), ("huge_dims.gif", huge_gif),
                       ("huge_dims.jpg", bytes(jpeg))]:
        write(name, data)
        index["invalid"].append(name)

    write("index.json", json.dumps(index, indent=1).encode())
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"{len(os.listdir(OUT))} files, {total} bytes in {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
