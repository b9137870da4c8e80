"""ViperGPT's `ImagePatch` API, so that programs written for ViperGPT's GQA prompt run unchanged.

This file is shipped as source into the sandbox and runs there on the standard library only (no
`from __future__`, no imports outside the stdlib). It never sees pixels: every perception call
(find, exists, verify_property, best_text_match, simple_query, compute_depth, ...) goes to
`image.perceive(method, box, ref, args)`, which in the sandbox sends one request over the caller's
channel and returns the caller's answer. Coordinates follow ViperGPT: pixels of the image a patch
was made from, origin at the BOTTOM-left (`upper > lower`, a larger `vertical_center` is higher).

Two protocols (`Image.protocol`), side by side with cvlab-columbia/viper `image_patch.py`
(commit 09fe3465224766860d8dd4ec48db942f22b05092):

| | `"default"` | `"paper"` (ViperGPT) |
|---|---|---|
| `ImagePatch(image, l, lo, r, u)` | box clipped to the image, rounded; empty -> ValueError | the image sliced as ViperGPT's tensor (`image[:, H-u:H-lo, l:r]`, Python slice rules); no area -> Exception |
| `crop(l, lo, r, u)`, `find` results | the exact box | `int()` of each side, then 10 px more on each side within the patch (`crop_larger_margin: True`) |
| `cropped_image` | the crop (an `Image`): `ImagePatch(p.cropped_image)` is the crop, with its own coordinates from 0 | same |
| `ImagePatch(patch)` | the patch's crop | AttributeError, as there |
| `simple_query()` without a question | "What is this?" | TypeError, as there |
| `best_image_match(patches, content)` | max over the texts (a str is one text) | mean over `for cont in content` (a str iterates its characters), first argmax |
| `distance(a, b)` | ViperGPT's: edge gap, or minus the float32 IoU when they touch; `abs(a - b)` for numbers | same |
| `repr(patch)` | `ImagePatch(left=.., lower=.., right=.., upper=..)` | `ImagePatch(l, lo, r, u)` |
"""

import math
import re
import struct
from collections.abc import Callable, Sequence
from typing import Any

#: The two scoring/API protocols (see the module docstring).
PROTOCOLS = ("default", "paper")
#: ViperGPT's `crop_larger_margin`: pixels added on each side of a crop under the paper protocol.
CROP_MARGIN = 10


class PerceptionError(Exception):
    """The perception backend could not answer a call; the message says why."""


class Image:
    """What `execute_command(image)` receives, and what `ImagePatch.cropped_image` is: a picture (the
    whole image or a crop of it) and the perception that sees it.

    `width`, `height`: its size in pixels. `x0`, `y0`: where its bottom-left corner lies in the
    original image (0, 0 for the image itself). `shape` is (3, height, width) like the CHW tensor
    ViperGPT passes, so code reading `image.shape` works as it does there.
    """

    def __init__(self, width: int, height: int, perceive: "Callable[[str, list, Any, list], Any] | None" = None, *,
                 x0: int = 0, y0: int = 0, protocol: str = "default", ref: "str | None" = None) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError("protocol must be one of %s, got %r" % (PROTOCOLS, protocol))
        self.width, self.height = int(width), int(height)
        self.x0, self.y0 = x0, y0
        self.protocol = protocol
        self._perceive = perceive
        self._ref = ref

    @property
    def shape(self) -> "tuple[int, int, int]":
        return (3, self.height, self.width)

    def perceive(self, method: str, box: "Sequence[float]", ref: "str | None", args: "Sequence[Any]") -> Any:
        """Ask the perception about `box` (this image's coordinates)."""
        if self._perceive is None:
            raise PerceptionError("this image has no perception backend")
        left, lower, right, upper = box
        return self._perceive(method, [left + self.x0, lower + self.y0, right + self.x0, upper + self.y0], ref, list(args))

    def _crop(self, left: float, lower: float, right: float, upper: float, ref: "str | None") -> "Image":
        return Image(right - left, upper - lower, self._perceive, x0=self.x0 + left, y0=self.y0 + lower,
                     protocol=self.protocol, ref=ref)

    def __repr__(self) -> str:
        return "Image(width=%d, height=%d)" % (self.width, self.height)


def _clip(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


class ImagePatch:
    """A crop of the image, with its position in the image it was made from.

    Attributes:
        cropped_image: The crop itself (an `Image`); `ImagePatch(patch.cropped_image)` is a patch of it.
        left, right: x of the crop's left / right border.
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
        if isinstance(image, ImagePatch) and image.image.protocol != "paper":
            image = image.cropped_image
        if isinstance(image, ImagePatch):  # ViperGPT reads image.shape of what it is given
            raise AttributeError("'ImagePatch' object has no attribute 'shape'")
        if not isinstance(image, Image):
            raise TypeError("ImagePatch(image, ...) needs the image passed to execute_command, got %s" % type(image).__name__)
        self.image = image
        whole = left is None and right is None and upper is None and lower is None
        if image.protocol == "paper":
            box = self._init_paper(image, whole, left, lower, right, upper, parent_left, parent_lower)
        else:
            box = self._init_default(image, whole, left, lower, right, upper, parent_left, parent_lower)
        self._box = box  # the pixels this patch shows, in `image` coordinates
        self._ref = image._ref if whole and _ref is None else _ref
        self.cropped_image = image if whole else image._crop(*box, ref=self._ref)
        self.horizontal_center = (self.left + self.right) / 2
        self.vertical_center = (self.lower + self.upper) / 2

    def _init_default(self, image: Image, whole: bool, left: Any, lower: Any, right: Any, upper: Any,
                      parent_left: Any, parent_lower: Any) -> "tuple[int, int, int, int]":
        W, H = image.width, image.height
        if whole:
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
        return (self.left, self.lower, self.right, self.upper)

    def _init_paper(self, image: Image, whole: bool, left: Any, lower: Any, right: Any, upper: Any,
                    parent_left: Any, parent_lower: Any) -> "tuple[int, int, int, int]":
        # viper image_patch.py ImagePatch.__init__: cropped_image = image[:, H-upper:H-lower, left:right]
        W, H = image.width, image.height
        if whole:
            rows, cols = range(H), range(W)
            self.left, self.lower, self.right, self.upper = 0, 0, W, H
        else:
            rows = range(H)[H - upper:H - lower]  # Python slice rules, as a tensor slice
            cols = range(W)[left:right]
            self.left = left + parent_left
            self.upper = upper + parent_lower
            self.right = right + parent_left
            self.lower = lower + parent_lower
        self.height, self.width = len(rows), len(cols)
        if self.height == 0 or self.width == 0:
            raise Exception("ImagePatch has no area")
        return (cols[0], H - (rows[-1] + 1), cols[-1] + 1, H - rows[0])

    # -- perception -----------------------------------------------------------------------------
    def _ask(self, method: str, *args: Any) -> Any:
        return self.image.perceive(method, self._box, self._ref, args)

    def find(self, object_name: str) -> "list[ImagePatch]":
        """All patches showing `object_name` inside this patch (possibly none), most salient first."""
        found = []
        crop = self.cropped_image
        for item in self._ask("find", str(object_name)):
            left, lower, right, upper = item["box"]  # original-image coordinates
            if self.image.protocol == "paper":  # viper: self.crop(*box in the crop's coordinates)
                patch = self.crop(left - crop.x0, lower - crop.y0, right - crop.x0, upper - crop.y0)
                patch._ref = item.get("ref")
                patch.cropped_image._ref = patch._ref
            else:
                x0, y0 = self.image.x0, self.image.y0
                patch = ImagePatch(self.image, left - x0, lower - y0, right - x0, upper - y0, _ref=item.get("ref"))
            found.append(patch)
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
        if question is None and self.image.protocol == "paper":
            raise TypeError("ImagePatch.simple_query() missing 1 required positional argument: 'question'")
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
        if self.image.protocol == "paper":  # viper image_patch.py ImagePatch.crop
            left, lower, right, upper = int(left), int(lower), int(right), int(upper)
            left = max(0, left - CROP_MARGIN)
            lower = max(0, lower - CROP_MARGIN)
            right = min(self.width, right + CROP_MARGIN)
            upper = min(self.height, upper + CROP_MARGIN)
            return ImagePatch(self.cropped_image, left, lower, right, upper, self.left, self.lower)
        return ImagePatch(self.image, left, lower, right, upper, parent_left=self.left, parent_lower=self.lower)

    def overlaps_with(self, left: float, lower: float, right: float, upper: float) -> bool:
        """True if this patch overlaps the box (same coordinates as this patch's borders)."""
        return self.left <= right and self.right >= left and self.lower <= upper and self.upper >= lower

    def __repr__(self) -> str:
        if self.image.protocol == "paper":
            return "ImagePatch({}, {}, {}, {})".format(self.left, self.lower, self.right, self.upper)
        return "ImagePatch(left=%d, lower=%d, right=%d, upper=%d)" % (self.left, self.lower, self.right, self.upper)


def bool_to_yesno(bool_answer: bool) -> str:
    """'yes' for True, 'no' for False."""
    return "yes" if bool_answer else "no"


def _float32(value: float) -> float:
    return struct.unpack("f", struct.pack("f", value))[0]


def _iou_float32(a: ImagePatch, b: ImagePatch) -> float:
    """torchvision `box_iou` of two integer boxes: int64 arithmetic, then a float32 division."""
    inter_w = max(min(a.right, b.right) - max(a.left, b.left), 0)
    inter_h = max(min(a.upper, b.upper) - max(a.lower, b.lower), 0)
    inter = inter_w * inter_h
    union = (a.right - a.left) * (a.upper - a.lower) + (b.right - b.left) * (b.upper - b.lower) - inter
    num, den = _float32(inter), _float32(union)
    if den == 0:
        return math.nan if num == 0 else math.copysign(math.inf, num)
    return _float32(num / den)


def distance(patch_a: "ImagePatch | float", patch_b: "ImagePatch | float") -> float:
    """Edge-to-edge distance of two patches (minus their IoU when they touch), or |a - b| of two numbers.

    viper image_patch.py `distance`: u = max(0, a_min - b_max), v = max(0, b_min - a_max) per axis,
    sqrt of the sum of squares; 0 -> -box_iou (float32). Anything else: abs(patch_a - patch_b).
    """
    if isinstance(patch_a, ImagePatch) and isinstance(patch_b, ImagePatch):
        u = (max(0, patch_a.left - patch_b.right), max(0, patch_a.lower - patch_b.upper))
        v = (max(0, patch_b.left - patch_a.right), max(0, patch_b.lower - patch_a.upper))
        dist = math.sqrt((u[0] ** 2 + u[1] ** 2) + (v[0] ** 2 + v[1] ** 2))
        if dist == 0:
            dist = -_iou_float32(patch_a, patch_b)
        return dist
    return abs(patch_a - patch_b)


def best_image_match(list_patches: "list[ImagePatch]", content: "str | list[str]", return_index: bool = False) -> Any:
    """The patch that best matches the texts in `content` (or its index); None for no patches."""
    if len(list_patches) == 0:
        return None
    if list_patches[0].image.protocol == "paper":  # viper: mean over `for cont in content`, then argmax
        rows = [[p._text_score(cont) for p in list_patches] for cont in content]
        if not rows:
            raise RuntimeError("stack expects a non-empty TensorList")
        scores = [sum(column) / len(rows) for column in zip(*rows)]
    else:
        texts = [content] if isinstance(content, str) else list(content)
        scores = [max(p._text_score(t) for t in texts) for p in list_patches]
    index = max(range(len(scores)), key=lambda i: scores[i])  # the first of equal maxima, as argmax
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


def viper_result(prediction: Any) -> str:
    """ViperGPT's reading of a returned value: datasets/__init__.py `general_postprocessing`, the
    part that needs the object (run where the object lives, in the sandbox); the GQA string rules
    follow in `rerest_envs.gqa.answers.viper_post_process`. None -> "no", a list -> its first
    element ("no" when empty), True/False -> yes/no, anything else -> str(), lower case, stripped."""
    import sys

    torch = sys.modules.get("torch")
    try:
        if type(prediction).__name__ == "ImagePatch":
            prediction = prediction.classify_object()
        if isinstance(prediction, list):
            prediction = prediction[0] if len(prediction) > 0 else "no"
        if torch is not None and isinstance(prediction, torch.Tensor):
            prediction = prediction.item()
        if prediction is None:
            prediction = "no"
        if isinstance(prediction, bool):
            prediction = "yes" if prediction else "no"
        elif isinstance(prediction, int):
            prediction = str(prediction)
    except BaseException:
        prediction = str(prediction)
    prediction = str(prediction)
    prediction = prediction.replace("\n", " ").replace("\t", " ").strip().lower()
    if prediction == "true":
        prediction = "yes"
    elif prediction == "false":
        prediction = "no"
    return prediction


#: The image of the running program, for module-level helpers such as `llm_query` (set by the runner).
_DEFAULT_IMAGE: "list[Image | None]" = [None]

__all__ = ["CROP_MARGIN", "PROTOCOLS", "Image", "ImagePatch", "PerceptionError", "best_image_match", "bool_to_yesno",
           "coerce_to_numeric", "distance", "llm_query", "viper_result"]
