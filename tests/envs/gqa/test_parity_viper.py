"""Issue 17: `rerest/GQA-v0` with `protocol="paper"` agrees 100% with ViperGPT's own rules.

The reference rules are transcribed below from cvlab-columbia/viper at commit
09fe3465224766860d8dd4ec48db942f22b05092 (fetched 2026-12-07):
  * `datasets/__init__.py` `general_postprocessing` and `datasets/gqa.py` `GQADataset.post_process`,
    `processPunctuation`, `processDigitArticle`, `accuracy` (how a returned value is scored);
  * `image_patch.py` `ImagePatch.__init__` (the tensor slice), `crop` (`crop_larger_margin: True`,
    `configs/base_config.yaml`), `find` (`[self.crop(*c) for c in coordinates]`), `distance`,
    `best_image_match`, `__repr__`; `box_iou` from torchvision `ops/boxes.py` (not installed here,
    transcribed with torch ops).
Each is compared with ours on generated cases: answers and returned values of every type a program
returns, every distinct gold of the data with variants, crops of random boxes (inside, outside,
negative, inverted, nested), found boxes, patch pairs, numbers and score tables.
"""

from __future__ import annotations

import random
import re
from typing import Any

import numpy as np
import pytest

from rerest_envs.gqa import SPLITS, load_questions
from rerest_envs.gqa.answers import viper_answer, viper_match
from rerest_envs.gqa.api.image_patch import Image, ImagePatch, best_image_match, distance, viper_result
from rerest_envs.gqa.data import gqa_dir

torch = pytest.importorskip("torch")


# -- the reference, transcribed -----------------------------------------------------------------------
def ref_general_postprocessing(prediction: Any) -> str:  # datasets/__init__.py
    try:
        if type(prediction).__name__ == 'ImagePatch':
            prediction = prediction.classify_object()
        if isinstance(prediction, list):
            prediction = prediction[0] if len(prediction) > 0 else "no"
        if isinstance(prediction, torch.Tensor):
            prediction = prediction.item()
        if prediction is None:
            prediction = "no"
        if isinstance(prediction, bool):
            if prediction:
                prediction = "yes"
            else:
                prediction = "no"
        elif isinstance(prediction, int):
            prediction = str(prediction)
    except:  # noqa: E722  (sic)
        prediction = str(prediction)
    prediction = str(prediction)
    prediction = prediction.replace('\n', ' ')
    prediction = prediction.replace('\t', ' ')
    prediction = prediction.strip()
    prediction = prediction.lower()
    if prediction == 'true':
        prediction = 'yes'
    elif prediction == 'false':
        prediction = 'no'
    return prediction


class RefGQA:  # datasets/gqa.py, the evaluation part of GQADataset.__init__ and its methods
    def __init__(self) -> None:
        from rerest_envs.gqa.answers import VIPER_CONTRACTIONS  # the 110-entry table, copied verbatim there
        self.contractions = dict(VIPER_CONTRACTIONS)
        self.manualMap = {'none': '0', 'zero': '0', 'one': '1', 'two': '2', 'three': '3', 'four': '4', 'five': '5',
                          'six': '6', 'seven': '7', 'eight': '8', 'nine': '9', 'ten': '10'}
        self.articles = ['a', 'an', 'the']
        self.periodStrip = re.compile("(?!<=\\d)(\\.)(?!\\d)")
        self.commaStrip = re.compile("(\\d)(\\,)(\\d)")
        self.punct = [';', r"/", '[', ']', '"', '{', '}', '(', ')', '=', '+', '\\', '_', '-', '>', '<', '@', '`', ',', '?', '!']

    def processPunctuation(self, inText: str) -> str:
        outText = inText
        for p in self.punct:
            if (p + ' ' in inText or ' ' + p in inText) or (re.search(self.commaStrip, inText) != None):  # noqa: E711
                outText = outText.replace(p, '')
            else:
                outText = outText.replace(p, ' ')
        outText = self.periodStrip.sub("", outText, re.UNICODE)
        return outText

    def processDigitArticle(self, inText: str) -> str:
        outText = []
        tempText = inText.lower().split()
        for word in tempText:
            word = self.manualMap.setdefault(word, word)
            if word not in self.articles:
                outText.append(word)
        for wordId, word in enumerate(outText):
            if word in self.contractions:
                outText[wordId] = self.contractions[word]
        return ' '.join(outText)

    def post_process(self, prediction: Any) -> str:
        prediction = ref_general_postprocessing(prediction)
        prediction = prediction.replace('\n', ' ')
        prediction = prediction.replace('\t', ' ')
        prediction = prediction.strip()
        prediction = self.processPunctuation(prediction)
        prediction = self.processDigitArticle(prediction)
        return prediction

    def correct(self, prediction: Any, ground_truth: str) -> bool:  # one term of accuracy()
        return self.post_process(prediction) == ground_truth


def ref_box_iou(boxes1: Any, boxes2: Any) -> Any:  # torchvision ops/boxes.py box_iou, _box_inter_union, box_area
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    lt = torch.max(boxes1[:, None, :2], boxes2[:, :2])
    rb = torch.min(boxes1[:, None, 2:], boxes2[:, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[:, :, 0] * wh[:, :, 1]
    union = area1[:, None] + area2 - inter
    return inter / union


class RefPatch:  # image_patch.py ImagePatch: geometry only (perception models replaced by a score table)
    def __init__(self, image: Any, left: Any = None, lower: Any = None, right: Any = None, upper: Any = None,
                 parent_left: Any = 0, parent_lower: Any = 0) -> None:
        if left is None and right is None and upper is None and lower is None:
            self.cropped_image = image
            self.left = 0
            self.lower = 0
            self.right = image.shape[2]
            self.upper = image.shape[1]
        else:
            self.cropped_image = image[:, image.shape[1]-upper:image.shape[1]-lower, left:right]
            self.left = left + parent_left
            self.upper = upper + parent_lower
            self.right = right + parent_left
            self.lower = lower + parent_lower
        self.height = self.cropped_image.shape[1]
        self.width = self.cropped_image.shape[2]
        self.horizontal_center = (self.left + self.right) / 2
        self.vertical_center = (self.lower + self.upper) / 2
        if self.cropped_image.shape[1] == 0 or self.cropped_image.shape[2] == 0:
            raise Exception("ImagePatch has no area")

    def find_boxes(self, all_object_coordinates: list) -> list:
        return [self.crop(*coordinates) for coordinates in all_object_coordinates]

    def crop(self, left: Any, lower: Any, right: Any, upper: Any) -> "RefPatch":
        left = int(left)
        lower = int(lower)
        right = int(right)
        upper = int(upper)
        if True:  # config.crop_larger_margin
            left = max(0, left - 10)
            lower = max(0, lower - 10)
            right = min(self.width, right + 10)
            upper = min(self.height, upper + 10)
        return RefPatch(self.cropped_image, left, lower, right, upper, self.left, self.lower)

    def __repr__(self) -> str:
        return "ImagePatch({}, {}, {}, {})".format(self.left, self.lower, self.right, self.upper)


RefPatch.__name__ = "ImagePatch"  # general_postprocessing looks at the type's name


def ref_distance(patch_a: Any, patch_b: Any) -> float:
    if isinstance(patch_a, RefPatch) and isinstance(patch_b, RefPatch):
        a_min = np.array([patch_a.left, patch_a.lower])
        a_max = np.array([patch_a.right, patch_a.upper])
        b_min = np.array([patch_b.left, patch_b.lower])
        b_max = np.array([patch_b.right, patch_b.upper])
        u = np.maximum(0, a_min - b_max)
        v = np.maximum(0, b_min - a_max)
        dist = np.sqrt((u ** 2).sum() + (v ** 2).sum())
        if dist == 0:
            box_a = torch.tensor([patch_a.left, patch_a.lower, patch_a.right, patch_a.upper])[None]
            box_b = torch.tensor([patch_b.left, patch_b.lower, patch_b.right, patch_b.upper])[None]
            dist = - ref_box_iou(box_a, box_b).item()
    else:
        dist = abs(patch_a - patch_b)
    return dist


def ref_best_image_match(list_patches: list, content: Any, score: Any, return_index: bool = False) -> Any:
    if len(list_patches) == 0:
        return None
    scores = []
    for cont in content:
        scores.append(torch.tensor([score(p, cont) for p in list_patches], dtype=torch.float64))
    scores = torch.stack(scores).mean(dim=0)
    scores = scores.argmax().item()
    if return_index:
        return scores
    return list_patches[scores]


# -- generated values ---------------------------------------------------------------------------------
WORDS = ["yes", "no", "a", "an", "the", "two", "none", "ten", "dont", "isnt", "Im", "t-shirt", "3.5", "1,000", "left",
         "True", "FALSE", "man's", "o'clock", "..", "?", "!", "-", "(", ")", "/", ",", ";", "_", "`", "\\", "\"", "<", "=",
         "e.g.", "a.b", "10.", ".5", "wooden", "blue"]
SEPARATORS = [" ", "  ", "\n", "\t", "", " ,", ". "]


def random_text(rng: random.Random) -> str:
    return "".join(rng.choice(WORDS) + rng.choice(SEPARATORS) for _ in range(rng.randint(0, 7)))


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(14)
    if kind < 5:
        return random_text(rng)
    if kind == 5:
        return None
    if kind == 6:
        return rng.choice([True, False])
    if kind == 7:
        return rng.randint(-20, 20)
    if kind == 8:
        return rng.choice([0.5, 2.0, -1.25, 1e20, float("nan")])
    if kind == 9 and depth < 2:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if kind == 10:
        return rng.choice([np.bool_(True), np.int64(3), np.float64(2.5), np.str_("No"), np.array([1, 2])])
    if kind == 11:
        return rng.choice([torch.tensor(True), torch.tensor(2), torch.tensor([1.5]), torch.tensor("x".__len__())])
    if kind == 12:
        return (random_text(rng), 1)
    return {"answer": random_text(rng)}


REF = RefGQA()


def test_returned_values_are_read_as_viper_reads_them() -> None:
    rng = random.Random(0)
    n = 0
    for _ in range(20_000):
        value = random_value(rng)
        ours = viper_answer(viper_result(value))
        assert ours == REF.post_process(value), repr(value)
        n += 1
    assert n == 20_000


def golds() -> list[str]:
    folder = gqa_dir(None)
    return sorted({q.answer for split in SPLITS for q in load_questions(split, folder) if q.answer is not None})


def test_every_gold_and_its_variants_agree() -> None:
    found = golds()
    assert len(found) >= 700
    agree = total = matched = 0
    for gold in found:
        variants = [gold, gold.upper(), gold + ".", "The " + gold, [gold], [gold, "x"], f" {gold}\n", gold + "!",
                    gold.replace(" ", "  "), gold.replace("-", " "), None, True, False, 2, [], [None], "yes", "no"]
        for value in variants:
            ours = viper_match(viper_result(value), gold)
            ref = REF.correct(value, gold)
            agree += ours == ref
            matched += ref
            total += 1
    assert agree == total and matched > len(found), (agree, total, matched)


# -- geometry -----------------------------------------------------------------------------------------
def coordinate_image(width: int, height: int) -> Any:
    """A CHW tensor whose pixels say where they are: channel 0 the row, channel 1 the column."""
    rows = torch.arange(height).view(height, 1).expand(height, width)
    cols = torch.arange(width).view(1, width).expand(height, width)
    return torch.stack([rows, cols, rows * 0]).float()


def region(ref: RefPatch, height: int) -> tuple[int, int, int, int]:
    """The pixels a reference patch shows, as (left, lower, right, upper) of the original image."""
    crop = ref.cropped_image
    top, bottom = int(crop[0].min()), int(crop[0].max()) + 1
    return int(crop[1].min()), height - bottom, int(crop[1].max()) + 1, height - top


def ours_region(patch: ImagePatch) -> tuple[float, ...]:
    image = patch.image
    left, lower, right, upper = patch._box
    return (left + image.x0, lower + image.y0, right + image.x0, upper + image.y0)


def same(ours: ImagePatch, ref: RefPatch, height: int) -> None:
    attrs = ("left", "lower", "right", "upper", "width", "height", "horizontal_center", "vertical_center")
    assert [getattr(ours, a) for a in attrs] == [getattr(ref, a) for a in attrs]
    assert ours_region(ours) == region(ref, height)
    assert repr(ours) == repr(ref) and viper_result(ours) == ref_general_postprocessing(ref)
    assert (ours.cropped_image.width, ours.cropped_image.height) == (ref.cropped_image.shape[2], ref.cropped_image.shape[1])


def build(make: Any, *args: Any) -> tuple[Any, str | None]:
    try:
        return make(*args), None
    except Exception as exc:  # both sides must fail alike (TypeError on a float slice, no area, ...)
        return None, type(exc).__name__ if type(exc).__name__ != "Exception" else str(exc)


def test_crops_and_found_boxes_agree() -> None:
    rng = random.Random(1)
    cases = failures = 0
    for _ in range(2000):
        width, height = rng.randint(1, 120), rng.randint(1, 120)
        tensor = coordinate_image(width, height)
        ours_root, ref_root = ImagePatch(Image(width, height, protocol="paper")), RefPatch(tensor)
        same(ours_root, ref_root, height)
        ours, ref = ours_root, ref_root
        for _depth in range(3):
            if rng.random() < 0.3:  # wild: outside, negative, inverted
                coords = [rng.randint(-30, 150) for _ in range(4)]
            else:  # a box of the current patch, in its coordinates
                xs, ys = sorted(rng.randint(0, ours.width) for _ in range(2)), sorted(rng.randint(0, ours.height) for _ in range(2))
                coords = [xs[0], ys[0], xs[1] + rng.randint(0, 1), ys[1] + rng.randint(0, 1)]
            how = rng.randrange(3)
            if how == 0:  # crop()
                (o, oe), (r, re_) = build(ours.crop, *coords), build(ref.crop, *coords)
            elif how == 1:  # find(): boxes in the crop's coordinates, floats with two decimals
                box = [round(rng.uniform(-20, 130), 2) for _ in range(4)]
                crop = ours.cropped_image

                def ours_find(box: list[float] = box, crop: Image = crop, patch: ImagePatch = ours) -> ImagePatch:
                    shifted = [box[0] + crop.x0, box[1] + crop.y0, box[2] + crop.x0, box[3] + crop.y0]
                    patch.image._perceive = lambda m, b, rf, a: [{"box": shifted, "ref": None}]
                    return patch.find("thing")[0]

                (o, oe), (r, re_) = build(ours_find), build(lambda: ref.find_boxes([box])[0])
            else:  # ImagePatch(image, l, lo, r, u) on the current crop, and ImagePatch(p.cropped_image)
                (o, oe), (r, re_) = (build(ImagePatch, ours.cropped_image, *coords),
                                     build(RefPatch, ref.cropped_image, *coords))
            assert oe == re_, (coords, oe, re_)
            cases += 1
            if oe is not None:
                failures += 1
                break
            same(o, r, height)
            whole_o, whole_r = ImagePatch(o.cropped_image), RefPatch(r.cropped_image)
            assert [whole_o.left, whole_o.lower, whole_o.right, whole_o.upper] == [whole_r.left, whole_r.lower, whole_r.right, whole_r.upper]
            ours, ref = o, r
    assert cases > 2000 and 0.05 * cases < failures < cases / 2, (cases, failures)


def test_distance_agrees() -> None:
    rng = random.Random(2)
    width, height = 200, 150
    tensor = coordinate_image(width, height)
    root_o, root_r = ImagePatch(Image(width, height, protocol="paper")), RefPatch(tensor)
    for _ in range(3000):
        pair = []
        for _side in range(2):
            coords = sorted(rng.sample(range(0, 200), 2)) + sorted(rng.sample(range(0, 150), 2))
            left, right, lower, upper = coords
            pair.append((root_o.crop(left, lower, right, upper), root_r.crop(left, lower, right, upper)))
        (a_o, a_r), (b_o, b_r) = pair
        ours, ref = distance(a_o, b_o), ref_distance(a_r, b_r)
        assert ours == ref, (a_r, b_r, ours, ref)
    for a, b in [(3.0, 5.0), (5, 3), (-1.5, 2.25), (np.float64(1.5), 4)]:
        assert distance(a, b) == ref_distance(a, b)
    with pytest.raises(TypeError):
        distance(root_o, 3.0)


def test_best_image_match_agrees() -> None:
    rng = random.Random(3)
    width, height = 100, 100
    for _ in range(500):
        k = rng.randint(1, 5)
        boxes = [(rng.randint(0, 40), rng.randint(0, 40), rng.randint(50, 100), rng.randint(50, 100)) for _ in range(k)]
        table: dict[tuple[Any, str], float] = {}

        def score(box: Any, text: str) -> float:
            return table.setdefault((tuple(box), text), rng.randint(0, 16) / 8)

        image = Image(width, height, lambda m, b, rf, a: score(b, a[0]), protocol="paper")
        patches = [ImagePatch(image, *box) for box in boxes]
        content = rng.choice([["cat"], ["cat", "dog"], ["a", "b", "c"], "cat", "dogs"])
        ours = best_image_match(patches, content, return_index=True)
        ref = ref_best_image_match(patches, content, lambda p, t: score(p._box, t), return_index=True)
        assert ours == ref
    assert best_image_match([], ["cat"]) is None and ref_best_image_match([], ["cat"], None) is None


# -- end to end ---------------------------------------------------------------------------------------
def test_env_paper_verdicts_agree_with_viper() -> None:
    """Programs returning generated values through `env.step`: success == ViperGPT's accuracy term."""
    import gymnasium

    env = gymnasium.make("rerest/GQA-v0", protocol="paper").unwrapped
    rng = random.Random(4)
    agree = total = successes = 0
    try:
        for task_id in env.task_ids[:12]:
            gold = env.questions[task_id].answer
            values = [gold, gold.upper() + ".", [gold], None, True, False, 0, [], random_text(rng), (gold,), f" the {gold} \n"]
            for value in values:
                env.reset(options={"task_id": task_id})
                _, reward, _, _, info = env.step(f"def execute_command(image):\n    return {value!r}\n")
                ref = REF.correct(value, gold)
                agree += (reward == 1.0) == ref
                successes += ref
                total += 1
    finally:
        env.close()
    assert agree == total and successes > 0, (agree, total)
