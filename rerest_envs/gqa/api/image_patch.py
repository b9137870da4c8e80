"""ViperGPT's `ImagePatch` API, so that programs written for ViperGPT's GQA prompt run unchanged.

This file is shipped as source into the sandbox and runs there on the standard library only (no
`from __future__`, no imports outside the stdlib). It never sees pixels: every perception call
(find, exists, verify_property, best_text_match, simple_query, compute_depth, ...) goes to
`image.perceive(method, box, ref, args)`, which in the sandbox sends one request over the caller's
channel and returns the caller's answer. Coordinates follow ViperGPT: pixels of the original image,
origin at the BOTTOM-left (`upper > lower`, a larger `vertical_center` is higher in the picture).
"""

import math
import re
from collections.abc import Callable, Sequence
from typing import Any


class PerceptionError(Exception):
    """The perception backend could not answer a call; the message says why."""


class Image:
    """What `execute_command(image)` receives: the picture's size and the perception that sees it.

    `shape` is (3, height, width) like the CHW tensor ViperGPT passes, so `ImagePatch(image)` and
    code reading `image.shape` work as they do there.
    """

    def __init__(self, width: int, height: int, perceive: "Callable[[str, list, Any, list], Any] | None" = None) -> None:
        self.width, self.height = int(width), int(height)
        self._perceive = perceive

    @property
    def shape(self) -> "tuple[int, int, int]":
        return (3, self.height, self.width)

    def perceive(self, method: str, box: "Sequence[float]", ref: "str | None", args: "Sequence[Any]") -> Any:
        if self._perceive is None:
            raise PerceptionError("this image has no perception backend")
        return self._perceive(method, list(box), ref, list(args))

    def __repr__(self) -> str:
        return "Image(width=%d, height=%d)" % (self.width, self.height)


def _clip(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


class ImagePatch:
    """A crop of the image, with its position in the original image.

    Attributes:
        cropped_image: The `Image` this patch is a crop of (pixels stay with the perception).
        left, right: x of the crop's left / right border, in pixels of the original image.
        lower, upper: y of the crop's bottom / top border; y grows UPWARDS (origin bottom-left).
        width, height: Size of the crop.
        horizontal_center, vertical_center: Centre of the crop (bottom-origin y).

    Methods:
        find(object_name) -> list[ImagePatch]; exists(object_name) -> bool;
        verify_property(object_name, property) -> bool; best_text_match(option_list, prefix=None) -> str;
        simple_query(question=None) -> str; compute_depth() -> float;
        crop(left, lower, right, upper) -> ImagePatch; overlaps_with(left, lower, right, upper) -> bool;
        llm_query(question, long_answer=True) -> str.
    """

    def __init__(self, image: "Image | ImagePatch", left: "float | None" = None, lower: "float | None" = None,
                 right: "float | None" = None, upper: "float | None" = None, parent_left: float = 0, parent_lower: float = 0,
                 _ref: "str | None" = None) -> None:
        if isinstance(image, ImagePatch):
            image = image.image
        if not isinstance(image, Image):
            raise TypeError("ImagePatch(image, ...) needs the image passed to execute_command, got %s" % type(image).__name__)
        self.image = image
        self.cropped_image = image
        W, H = image.width, image.height
        if left is None and right is None and upper is None and lower is None:
            left, lower, right, upper = 0, 0, W, H
        else:
            left = parent_left + (0 if left is None else left)
            lower = parent_lower + (0 if lower is None else lower)
            right = parent_left + (W if right is None else right)
            upper = parent_lower + (H if upper is None else upper)
        self.left = int(_clip(round(left), 0, W))
        self.right = int(_clip(round(right), 0, W))
        self.lower = int(_clip(round(lower), 0, H))
        self.upper = int(_clip(round(upper), 0, H))
        if self.right <= self.left or self.upper <= self.lower:
            raise ValueError("ImagePatch is empty: left=%s, lower=%s, right=%s, upper=%s (need left < right and lower < upper)"
                             % (self.left, self.lower, self.right, self.upper))
        self.width = self.right - self.left
        self.height = self.upper - self.lower
        self.horizontal_center = (self.left + self.right) / 2
        self.vertical_center = (self.lower + self.upper) / 2
        self._ref = _ref

    # -- perception -----------------------------------------------------------------------------
    def _ask(self, method: str, *args: Any) -> Any:
        return self.image.perceive(method, (self.left, self.lower, self.right, self.upper), self._ref, args)

    def find(self, object_name: str) -> "list[ImagePatch]":
        """All patches showing `object_name` inside this patch (possibly none), most salient first."""
        found = []
        for item in self._ask("find", str(object_name)):
            left, lower, right, upper = item["box"]
            found.append(ImagePatch(self.image, left, lower, right, upper, _ref=item.get("ref")))
        return found

    def exists(self, object_name: str) -> bool:
        """True if `object_name` is in this patch."""
        return bool(self._ask("exists", str(object_name)))

    def verify_property(self, object_name: str, property: str) -> bool:
        """True if the `object_name` in this patch has `property` (a colour, material, state, ...)."""
        return bool(self._ask("verify_property", str(object_name), str(property)))

    def best_text_match(self, option_list: "list[str] | None" = None, prefix: "str | None" = None) -> str:
        """The option of `option_list` that best describes this patch."""
        options = [str(o) for o in (option_list or [])]
        if not options:
            raise ValueError("best_text_match needs a non-empty option_list")
        return str(self._ask("best_text_match", options, None if prefix is None else str(prefix)))

    def simple_query(self, question: "str | None" = None) -> str:
        """Answer a basic perception question about this patch ("What is this?" when None)."""
        return str(self._ask("simple_query", "What is this?" if question is None else str(question)))

    def compute_depth(self) -> float:
        """Median depth of the patch: smaller is closer to the camera."""
        return float(self._ask("compute_depth"))

    def llm_query(self, question: str, long_answer: bool = True) -> str:
        """Ask a text-only language model (when the perception has one)."""
        return llm_query(question, None, long_answer, _image=self.image)

    def _text_score(self, text: str) -> float:
        return float(self._ask("text_score", str(text)))

    # -- geometry -------------------------------------------------------------------------------
    def crop(self, left: float, lower: float, right: float, upper: float) -> "ImagePatch":
        """A sub-patch; coordinates are relative to this patch (as in ViperGPT), bottom-origin."""
        return ImagePatch(self.image, left, lower, right, upper, parent_left=self.left, parent_lower=self.lower)

    def overlaps_with(self, left: float, lower: float, right: float, upper: float) -> bool:
        """True if this patch overlaps the box (original-image coordinates, bottom-origin)."""
        return self.left <= right and self.right >= left and self.lower <= upper and self.upper >= lower

    def __repr__(self) -> str:
        return "ImagePatch(left=%d, lower=%d, right=%d, upper=%d)" % (self.left, self.lower, self.right, self.upper)


def bool_to_yesno(bool_answer: bool) -> str:
    """'yes' for True, 'no' for False."""
    return "yes" if bool_answer else "no"


def distance(patch_a: ImagePatch, patch_b: ImagePatch) -> float:
    """Edge-to-edge distance of two patches; minus their IoU when they overlap."""
    dx = max(patch_a.left - patch_b.right, patch_b.left - patch_a.right, 0)
    dy = max(patch_a.lower - patch_b.upper, patch_b.lower - patch_a.upper, 0)
    if dx == 0 and dy == 0:
        inter_w = min(patch_a.right, patch_b.right) - max(patch_a.left, patch_b.left)
        inter_h = min(patch_a.upper, patch_b.upper) - max(patch_a.lower, patch_b.lower)
        inter = max(inter_w, 0) * max(inter_h, 0)
        union = patch_a.width * patch_a.height + patch_b.width * patch_b.height - inter
        return -inter / union if union else 0.0
    return math.hypot(dx, dy)


def best_image_match(list_patches: "list[ImagePatch]", content: "str | list[str]", return_index: bool = False) -> Any:
    """The patch that best matches any of the texts in `content` (or its index)."""
    if not list_patches:
        return None
    texts = [content] if isinstance(content, str) else list(content)
    scores = [max(p._text_score(t) for t in texts) for p in list_patches]
    index = max(range(len(scores)), key=lambda i: scores[i])
    return index if return_index else list_patches[index]


def coerce_to_numeric(string: Any, no_string: bool = False) -> Any:
    """The first number in `string` (e.g. '3 dogs' -> 3.0); the string itself (or None) if there is none."""
    if isinstance(string, (int, float)):
        return string
    match = re.search(r"-?\d+(?:\.\d+)?", str(string).replace(",", ""))
    if match:
        return float(match.group())
    return None if no_string else string


def llm_query(query: str, context: "str | None" = None, long_answer: bool = True, _image: "Image | None" = None) -> str:
    """Ask a text-only language model; available only when the run's perception offers one."""
    image = _image if _image is not None else _DEFAULT_IMAGE[0]
    if image is None:
        raise PerceptionError("llm_query has no image to reach the perception through")
    text = str(query) if context is None else "%s\n%s" % (context, query)
    return str(image.perceive("llm_query", (0, 0, image.width, image.height), None, [text, bool(long_answer)]))


#: The image of the running program, for module-level helpers such as `llm_query` (set by the runner).
_DEFAULT_IMAGE: "list[Image | None]" = [None]

__all__ = ["Image", "ImagePatch", "PerceptionError", "best_image_match", "bool_to_yesno", "coerce_to_numeric",
           "distance", "llm_query"]
