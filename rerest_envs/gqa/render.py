"""Draw what a GQA program looked at: the image (or a grey canvas of its size when only the scene
graph exists) with every box its `find` calls returned, labelled, for `render_mode="rgb_array"`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rerest_envs.errors import DependencyNotInstalled
from rerest_envs.gqa.perception.base import Detection

#: Box colours (tab10), one per distinct label in order of appearance.
PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))
#: Background of a question that has a scene graph but no image file.
CANVAS = (200, 200, 200)


def draw_found(width: int, height: int, found: Sequence[Detection], image_path: Path | None = None,
               caption: str | None = None) -> np.ndarray:
    """An RGB `uint8` array (height, width, 3): the picture with the found boxes (bottom-origin -> top-origin).

    Raises:
        DependencyNotInstalled: Pillow is missing.
    """
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError as e:  # pragma: no cover - Pillow is a dependency of rerest
        raise DependencyNotInstalled("render_mode='rgb_array' needs Pillow: pip install pillow") from e
    if image_path is not None:
        with Image.open(image_path) as img:
            picture = img.convert("RGB")
        width, height = picture.size
    else:
        picture = Image.new("RGB", (width, height), CANVAS)
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default()
    colours: dict[str, tuple[int, int, int]] = {}
    seen: set[tuple[float, ...]] = set()
    for det in found:
        if det.box in seen:
            continue
        seen.add(det.box)
        colour = colours.setdefault(det.label, PALETTE[len(colours) % len(PALETTE)])
        left, lower, right, upper = det.box
        top, bottom = height - upper, height - lower
        draw.rectangle((left, top, right, bottom), outline=colour, width=max(2, min(width, height) // 150))
        label = det.label[:40]
        box = draw.textbbox((left + 2, top + 1), label, font=font)
        draw.rectangle((box[0] - 1, box[1] - 1, box[2] + 1, box[3] + 1), fill=colour)
        draw.text((left + 2, top + 1), label, fill=(255, 255, 255), font=font)
    if caption:
        draw.text((4, height - 14), caption[: max(10, width // 6)], fill=(0, 0, 0), font=font)
    return np.asarray(picture, dtype=np.uint8).copy()


__all__ = ["draw_found"]
