"""Drawing a layout (Pillow) and the optional image stage that turns a layout into a picture.

`draw_layout` is what `render_mode="rgb_array"` returns: labelled boxes on white, one colour per
object phrase. `ImageStage` is the interface of an image model (GLIGEN through diffusers, say):
when one is passed to the env, the layout is drawn into an image and the image's text is read for
VPEval's text skill. None ships with rerest; the env works without one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rerest_envs.errors import DependencyNotInstalled
from rerest_envs.layout.parse import GRID, Box

#: Box colours (tab10), cycled over the distinct phrases in order of appearance.
PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75), (227, 119, 194),
           (127, 127, 127), (188, 189, 34), (23, 190, 207))


@runtime_checkable
class ImageStage(Protocol):
    """An image model behind the layout: draws the caption with the boxes, and reads text back (OCR)."""

    def generate(self, prompt: str, boxes: Sequence[Box]) -> Any:
        """An image (e.g. a `PIL.Image`) for the caption, grounded on the boxes (phrases + 0-99 coordinates)."""
        ...

    def read_text(self, image: Any) -> list[str]:
        """The words OCR reads in the image, for the `text_rendered` check."""
        ...


def draw_layout(boxes: Sequence[Box], size: int = 512, caption: str | None = None) -> np.ndarray:
    """An RGB `uint8` array of shape (size, size, 3): the 0-99 grid scaled to the picture, boxes labelled.

    Raises:
        DependencyNotInstalled: Pillow is missing.
    """
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError as e:  # pragma: no cover - Pillow is a dependency of rerest
        raise DependencyNotInstalled("render_mode='rgb_array' needs Pillow: pip install pillow") from e
    image = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    scale = (size - 1) / GRID
    colours: dict[str, tuple[int, int, int]] = {}
    for box in boxes:
        colour = colours.setdefault(box.phrase, PALETTE[len(colours) % len(PALETTE)])
        x1, y1, x2, y2 = (v * scale for v in (box.x1, box.y1, box.x2, box.y2))
        draw.rectangle((x1, y1, x2, y2), outline=colour, width=max(1, size // 170))
        label = box.phrase[:40]
        left, top, right, bottom = draw.textbbox((x1 + 2, y1 + 1), label, font=font)
        draw.rectangle((left - 1, top - 1, right + 1, bottom + 1), fill=colour)
        draw.text((x1 + 2, y1 + 1), label, fill=(255, 255, 255), font=font)
    if caption:
        draw.text((4, size - 14), caption[: size // 6], fill=(0, 0, 0), font=font)
    return np.asarray(image, dtype=np.uint8).copy()
