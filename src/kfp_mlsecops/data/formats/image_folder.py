"""Image folders: one sub-folder per class holding PNG/JPEG images of one size and mode.

Labels are the class folders' indices in sorted name order (recorded as ``class_names``); pixel
values are kept as stored (0..255 for 8-bit images), so set the value range to the model's
input range (``value_max`` 255) or scale inside the model. Hidden files (``.DS_Store``) are
skipped; anything else that is not an image in a class folder is refused, never ignored.
"""

from __future__ import annotations

import stat
import warnings
from pathlib import Path

import numpy as np

from kfp_mlsecops.data.formats import DataFormat
from kfp_mlsecops.data.labeled import LabeledData
from kfp_mlsecops.errors import InvalidInputError

__all__ = ["FORMAT", "IMAGE_SUFFIXES", "MAX_PIXELS"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
#: Largest image accepted (pixels), far below Pillow's decompression-bomb limit.
MAX_PIXELS = 4096 * 4096
#: Pillow modes read as they are (channels) and modes converted first.
_CHANNELS = {"L": 1, "RGB": 3}
_CONVERT = {"1": "L", "P": "RGB"}
_FORMATS = {"PNG", "JPEG"}
_LAYOUT = "put each class's PNG/JPEG images in one sub-folder named for the class"


def _visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _entries(source: str, root: Path) -> list[tuple[str, list[Path]]]:
    """Return (class name, image files) per class folder; refuse anything out of layout."""
    classes = []
    for child in _visible(root):
        if child.is_symlink() or not child.is_dir():
            raise InvalidInputError(
                f"dataset '{source}': '{child.name}' is not a class folder; {_LAYOUT}"
            )
        files = []
        for item in _visible(child):
            rel = f"{child.name}/{item.name}"
            if not stat.S_ISREG(item.lstat().st_mode):
                raise InvalidInputError(
                    f"dataset '{source}': '{rel}' is not a regular file "
                    f"(no sub-folders or symlinks); {_LAYOUT}"
                )
            if item.suffix.lower() not in IMAGE_SUFFIXES:
                raise InvalidInputError(
                    f"dataset '{source}': '{rel}' is not a .png/.jpg/.jpeg image; "
                    "remove it or convert it"
                )
            files.append(item)
        if not files:
            raise InvalidInputError(
                f"dataset '{source}': class folder '{child.name}' holds no images; "
                "add images or remove the folder"
            )
        classes.append((child.name, files))
    if not classes:
        raise InvalidInputError(f"dataset '{source}': no class folders; {_LAYOUT}")
    return classes


def _decode(source: str, rel: str, path: Path) -> np.ndarray:
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if image.format not in _FORMATS:
                    raise InvalidInputError(
                        f"dataset '{source}': '{rel}' holds {image.format or 'unknown'} data, "
                        "not PNG or JPEG; convert it"
                    )
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise InvalidInputError(
                        f"dataset '{source}': '{rel}' is {width}x{height}, above the "
                        f"{MAX_PIXELS}-pixel limit; resize it"
                    )
                mode = _CONVERT.get(image.mode, image.mode)
                if mode not in _CHANNELS:
                    raise InvalidInputError(
                        f"dataset '{source}': '{rel}' has mode {image.mode}; "
                        "save it as 8-bit grayscale (L) or RGB"
                    )
                pixels = np.asarray(image.convert(mode) if mode != image.mode else image)
    except InvalidInputError:
        raise
    except Exception as e:  # noqa: BLE001 - any undecodable image is the same user error
        raise InvalidInputError(
            f"dataset '{source}': '{rel}' is not a readable image ({type(e).__name__}); "
            "re-save it as PNG or JPEG"
        ) from e
    return pixels.reshape(*pixels.shape[:2], _CHANNELS[mode])


def _read(source: str, path: Path, label_column: str) -> LabeledData:
    del label_column  # the labels are the class folders
    images: list[np.ndarray] = []
    labels: list[int] = []
    names: list[str] = []
    first: tuple[str, tuple[int, ...]] | None = None
    for label, (name, files) in enumerate(_entries(source, path)):
        names.append(name)
        for file in files:
            rel = f"{name}/{file.name}"
            pixels = _decode(source, rel, file)
            if first is None:
                first = (rel, pixels.shape)
            elif pixels.shape != first[1]:
                raise InvalidInputError(
                    f"dataset '{source}': '{rel}' is {_describe(pixels.shape)} but "
                    f"'{first[0]}' is {_describe(first[1])}; resize or convert them to one "
                    "size and mode"
                )
            images.append(pixels)
            labels.append(label)
    x = np.stack(images).astype(np.float32)
    y = np.asarray(labels, dtype=np.int64)
    return LabeledData(source=source, x=x, y=y, class_names=tuple(names))


def _describe(shape: tuple[int, ...]) -> str:
    height, width, channels = shape
    return f"{width}x{height} with {channels} channel{'s' if channels > 1 else ''}"


FORMAT = DataFormat(
    name="images",
    suffixes=(),
    is_folder=True,
    description="a folder of PNG/JPEG images with one sub-folder per class",
    read=_read,
)
