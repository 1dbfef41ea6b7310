"""Opening images from untrusted places with one clear error for every way it can fail.

Nothing here writes to the file. Large photos are reduced while decoding (JPEG
draft mode) so a 100-megapixel file does not need gigabytes of memory."""
import errno
import io
import os
import warnings
from pathlib import Path

from PIL import Image, ImageFile, UnidentifiedImageError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
MAX_PIXELS = 150_000_000       # a 12000x9000 photo (108 MP) is fine; a bomb declaring more is refused
WORKING_SIZE = 2048            # the encoder needs 260 px, but screenshots' text must stay readable

Image.MAX_IMAGE_PIXELS = MAX_PIXELS
ImageFile.LOAD_TRUNCATED_IMAGES = False   # a truncated file is an error, not a half-grey picture


class ImageError(Exception):
    """Why an image could not be read: the path, and the reason in words for the user."""

    def __init__(self, path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = Path(path), reason


def is_candidate(path: Path) -> bool:
    """An image by name that is not hidden or a temporary/partial download."""
    name = path.name
    if name.startswith(".") or name.startswith("~") or name.endswith("~"):
        return False
    return path.suffix.lower() in IMAGE_SUFFIXES


def open_image(path: Path | str) -> Image.Image:
    path = Path(path)
    try:
        st = os.stat(path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise ImageError(path, "symbolic link loop") from None
        if e.errno == errno.ENOENT:
            raise ImageError(path, "file no longer exists") from None
        raise ImageError(path, f"cannot read ({e.strerror})") from None
    if not os.path.isfile(path):
        raise ImageError(path, "not a regular file")
    if st.st_size == 0:
        raise ImageError(path, "empty file (0 bytes)")
    return _decode(path, path)


def image_from_bytes(data: bytes, name: str = "upload") -> Image.Image:
    """The same checks and errors for an image held in memory (a web upload): nothing is written to disk."""
    if not data:
        raise ImageError(name, "empty file (0 bytes)")
    return _decode(io.BytesIO(data), name)


def _decode(source, path) -> Image.Image:
    """RGB pixels of the first frame, reduced to WORKING_SIZE; ImageError for every way it can fail."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as im:
                w, h = im.size
                if w * h > MAX_PIXELS:
                    raise ImageError(path, f"declares {w}x{h} pixels, too many pixels to read safely")
                im.seek(0)                       # first frame of a GIF or multi-page TIFF
                im.draft("RGB", (WORKING_SIZE, WORKING_SIZE))   # JPEG: decode at reduced scale
                im.load()
                out = im.convert("RGB")
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(path, "declares too many pixels to read safely (decompression bomb?)") from None
    except UnidentifiedImageError:
        raise ImageError(path, "not an image, or a format Iris cannot read") from None
    except PermissionError:
        raise ImageError(path, "permission denied") from None
    except FileNotFoundError:
        raise ImageError(path, "file no longer exists") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(path, f"damaged or truncated image ({e})") from None
    out.thumbnail((WORKING_SIZE, WORKING_SIZE), Image.BICUBIC)
    return out
