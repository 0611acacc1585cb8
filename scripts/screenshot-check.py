#!/usr/bin/env python3
"""Check that a PNG screenshot is not blank (standard library only: zlib): prints the number of distinct colours and
the share of non-white pixels; exits 1 unless there are at least MIN_COLOURS colours and MIN_INK (a fraction)
non-white pixels.

usage: screenshot-check.py PNG [MIN_COLOURS] [MIN_INK]
"""
import struct
import sys
import zlib


def pixels(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0, "expects 8-bit RGB(A), not interlaced"
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride, prev, out = zlib.decompress(idat), width * bpp, bytearray(width * bpp), []
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out.extend(bytes(line[i:i + 3]) for i in range(0, stride, bpp))
        prev = line
    return out


px = pixels(sys.argv[1])
min_colours = int(sys.argv[2]) if len(sys.argv) > 2 else 16
min_ink = float(sys.argv[3]) if len(sys.argv) > 3 else 0.02
colours = set(px)
ink = sum(1 for p in px if min(p) < 245) / len(px)
print(f"{len(px)} pixels: {len(colours)} colours, {ink:.1%} non-white")
sys.exit(0 if len(colours) >= min_colours and ink >= min_ink else 1)
