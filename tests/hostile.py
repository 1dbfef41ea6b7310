"""Builders for hostile files, made fresh by the tests (nothing binary is committed)."""
import io
import struct
import zipfile
import zlib
from pathlib import Path

from PIL import Image


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(path: Path, width: int = 100_000, height: int = 100_000) -> Path:
    """A tiny PNG whose header declares an enormous image."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + _chunk(b"IEND", b""))
    return path


def zip_named_jpg(path: Path) -> Path:
    """An archive with a .jpg name; its entry is flagged encrypted like a password-protected one."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("secret.txt", "x" * 100)
    data = bytearray(buf.getvalue())
    data[6] |= 1                            # general-purpose flag bit 0: encrypted
    path.write_bytes(bytes(data))
    return path


def hostile_files(folder: Path, photo: Path) -> dict[str, str]:
    """Write each hostile file into folder; returns name -> words its error must contain."""
    raw = photo.read_bytes()
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "truncated.jpg").write_bytes(raw[: len(raw) // 3])
    (folder / "corrupt.jpg").write_bytes(bytes(range(256)) * 40)
    (folder / "letter.png").write_text("Dear friend, this is not a picture.\n" * 20)
    (folder / "document.jpg").write_bytes(b"%PDF-1.4\n" + b"0" * 2000)
    zip_named_jpg(folder / "archive.jpg")
    png_bomb(folder / "bomb.png")
    return {"empty.jpg": "empty file", "truncated.jpg": "damaged or truncated", "corrupt.jpg": "not an image",
            "letter.png": "not an image", "document.jpg": "not an image", "archive.jpg": "not an image",
            "bomb.png": "too many pixels"}


def huge_jpeg(path: Path, width: int = 12000, height: int = 9000) -> Path:
    Image.new("RGB", (width, height), (90, 140, 60)).save(path, quality=70)
    return path
