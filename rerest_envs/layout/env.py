"""`rerest/Layout-v0`: turn a caption into a VPGen layout; VPEval-style skill checks score it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rerest_envs.core import Feedback, TextEnv, bounded_action, cut_note
from rerest_envs.layout.parse import (
    OBJECTS_FORMAT, Box, ParsedLayout, format_layout, format_objects, join_notes, parse_layout, parse_objects,
)
from rerest_envs.layout.official import PROTOCOLS
from rerest_envs.layout.prompts import load_prompt_set, load_records
from rerest_envs.layout.reference import reference_layout
from rerest_envs.layout.render import ImageStage, draw_layout
from rerest_envs.layout.scoring import score_layout
from rerest_envs.layout.task import LayoutTask

#: VPGen's instructions (`task_utils.py`), step 1 and step 2; ONE_STEP is ours (boxes directly).
STEP1_INSTRUCTION = "Instruction: Given an image caption, determine objects and their counts."
STEP2_INSTRUCTION = "Instruction: Given an image caption and objects, determine the coordinates of the objects."
ONE_STEP_INSTRUCTION = "Instruction: Given an image caption, determine the objects and the coordinates of the objects."
#: Longest step-1 answer repeated in the step-2 observation (characters).
MAX_OBJECTS_ECHO = 500
#: How many characters of an action are read: the rest is ignored, and the observation says so.
MAX_ACTION_CHARS = 10_000


class LayoutEnv(TextEnv):
    """Layout generation for text-to-image, as in VPGen, scored by VPEval's skills on the boxes.

    ## Description
    The agent reads an image caption and writes a layout: the objects with their counts, then
    one box per object instance on a 0-99 grid (VPGen, Cho et al. 2023: an LM plans the layout and
    GLIGEN draws it). The env checks the layout against the caption's requirements with VPEval's
    skill definitions (object, count, spatial, scale, text; GenEval's "must not contain") and
    explains every failed check in words, so that a reflector can repair the layout (Re-ReST).
    Prompt sets: VPEval skill and open-ended prompts, GenEval, NSR-1K (with ground-truth COCO
    layouts), T2I-CompBench, and PaintSkills-style template prompts generated without any file.

    ## Action Space
    `AnyText`. Two-step episodes (`steps=2`, VPGen): first objects and counts, then boxes::

        dog (2), frisbee (1)
        dog [(10, 40, 45, 90), (55, 42, 90, 88)] frisbee [(40, 5, 55, 20)]

    One-step episodes (`steps=1`) take the boxes only. Coordinates are `(x1, y1, x2, y2)`,
    integers 0-99, origin top-left. Parsing is lenient: case, spaces, plurals and synonyms in names
    (`people` counts as persons), a missing `]` or `)`, corners in the wrong order (swapped),
    fractions in [0, 1] (scaled) and values over 99 (clipped) are accepted and noted. Reading takes
    time linear in the answer, and the work is bounded: only the first 10,000 characters of an action
    (`MAX_ACTION_CHARS`) and its first 100 boxes (`MAX_BOXES`) are read, a count above 100 is a
    reading error, an observation shows at most 20 reading notes, and a lone surrogate is read as
    U+FFFD, so every observation is valid UTF-8 within the observation space.

    ## Observation Space
    `AnyText`. First observation (two-step, `prompt_set="vpeval-count"`, task `count_val_000001`)::

        Instruction: Given an image caption, determine objects and their counts.
        Caption: 2 persons

    After step 1 the observation repeats the answer, as VPGen does::

        Instruction: Given an image caption and objects, determine the coordinates of the objects.
        Caption: 2 persons
        Objects: person (2)

    After the layout the observation is the feedback message, e.g.::

        1 of 2 requirements met.
        - the bench should be left of the suitcase but its centre is 12 units to the right

    A malformed layout (`I don't know`) gets `Could not read the layout: no box could be read:
    Write each object followed by its boxes as ...` followed by the failed requirements.

    ## Starting State
    One prompt of the set: `options={"task_id": ...}` chooses it, otherwise the seeded `np_random`.

    ## Rewards
    Skill accuracy: 1.0 when every requirement is met, else 0.0 (`reward="binary"`); with
    `reward="fraction"`, the fraction of requirements met (VPEval's open-ended score), in [0, 1].
    Step 1 of a two-step episode pays 0.

    Two scoring protocols (`protocol=`). `"default"` is ours and lenient where that helps an agent
    learn; `"paper"` gives the official evaluators' verdicts: LayoutGPT's NSR-1K spatial metric
    (`weixi-feng/LayoutGPT` @ fc31954, `eval_spatial_layout.py` + `utils.py` `eval_spatial_relation`)
    on NSR-1K prompts, VPEval's `spatialEvalDino` (`aszala/VPEval` @ 4a54904,
    `src/evaluation_functions.py`) on all others. Both are transcribed in `rerest_envs.layout.official`
    and proven by `tests/envs/layout/test_parity_layoutgpt.py` and `test_parity_vpeval.py` (100%
    agreement on 8,364 and 7,657 generated cases):

    | | `"default"` | `"paper"` |
    |---|---|---|
    | left/right/above/below, NSR-1K | centres more than 5/512 of the side apart along the axis (any offset across it) | LayoutGPT: the centre line within 45 degrees of the direction (a cone); names matched by `difflib` (closest predicted name, ratio >= 0.6) |
    | left/right/above/below, others | the same | VPEval: centres more than 5 px apart on a 512 px image (the same verdicts as default) |
    | next to, NSR-1K | ours: edge gap <= 2x the longest side of the larger box, any direction (stacked and identical boxes pass; far-apart side-by-side boxes fail) | LayoutGPT: some pair is `left` or `right` (any distance) |
    | next to, others | ours, as above | `spatialEvalDino`'s `next` branch: centres more than 5 px apart in x |
    | spatial/scale prompts of NSR-1K, VPEval skills, the generator | every requirement: the counts (1 each) and the relation | the relation alone, as both metrics; count entries stay in `details` with `weight: 0` |
    | counts, comparisons, near, in front/behind, hidden by, scale, colour, text, exclusions | ours (counting: 100% agreement with LayoutGPT's `eval_counting_layout.py` on plain NSR-1K prompts, measured for issue 17) | the same |
    | which boxes are objects | positive area only | the same |

    Deliberate differences of `"paper"` from the references: the layout is VPGen text on the 0-99
    grid, read as `v / 99` by LayoutGPT and `v / 99 * 512` px by VPEval (VPGen's quantisation and
    GLIGEN's 512 px image); VPEval's detector is played by the layout's own phrases (a box is
    labelled with the first query name `names.phrase_matches` finds in it); a zero-area box counts
    for nothing under both protocols (LayoutGPT drops only all-zero boxes; on the parity cases this
    changes 395 of 8,364 LayoutGPT verdicts, all with such boxes); VPEval sends "next to" to
    BLIP-2 VQA, which a layout cannot answer, so `"paper"` uses `spatialEvalDino`'s own `next`
    branch; in front/behind use the ground-plane cue (VPEval compares depth, which a layout lacks).

    ## Episode End
    Terminates after the layout (step 1 of 1, or step 2 of 2); never truncated.

    ## Information
    `info` at reset and step:
    - `task_id` (str); `prompt` (str, the caption); `skill` (str); `step` (int, 1 or 2, the step the
      next action answers; reset and step 1 only).
    - `feedback` (`Feedback`): `success` (None until the layout is scored), `score` (fraction of
      requirements met), `message` (one line per failed requirement, then reading notes and what a
      layout cannot show), `privileged` (**reflector-only**: the NSR-1K ground-truth layout, or a
      reference layout built by the env that meets every requirement), `details` (one list per
      check name: `object_present`, `count_matches`, `color_named`, `relation_holds`,
      `scale_holds`, `count_compares`, `excluded_absent`, `text_rendered`, each entry
      `{requirement, passed, explanation, ...evidence}`; plus `layout` (boxes read), `parse`
      (`notes`, `errors`), `not_checked`; at step 1 of two: `objects` and `parse`).
    - `image` (final step, only with an `image_stage`): the generated image.

    - At reset only: `ground_truth_problem` (str: why this record's ground-truth layout was set
      aside at load, e.g. `image_id -1; all boxes of zero area`, else ""), `flagged_ground_truth`
      (int: how many records of the loaded set were set aside so). Such a layout is never shown as
      ground truth; `privileged` says it is unusable and gives the env's reference layout instead.

    Default scoring rules (details in `rerest_envs.layout.scoring`; `"paper"` above): boxes of zero
    area show nothing; spatial relations compare box centres
    with VPEval's margin (5/512 of the image side); next_to/near allow an edge gap of up to 2x/3x
    the longest side of the larger box; in_front_of/behind compare bottom edges (no depth in a
    layout); hidden_by needs half the subject's box inside the object's; scale compares areas with
    VPEval's 5% tolerance; text is checked only through an `image_stage` (without one it counts
    as not met, and the message says so); VQA questions of open-ended prompts are listed, not scored.

    ## Arguments
    ```python
    gymnasium.make("rerest/Layout-v0", prompt_set="generated-count-spatial", split="train", steps=2,
                   num_prompts=None, generator_seed=0, classes="coco", data_dir=None, records=None,
                   protocol="default", reward="binary", image_stage=None, render_mode=None, render_size=512)
    ```
    - `prompt_set`: `generated-count`, `generated-spatial`, `generated-scale`,
      `generated-count-spatial`, `generated-mixed` (no files needed; PaintSkills templates over COCO
      classes, counts 1-4), or a file set read from the `t2i` data folder: `vpeval-object` (400),
      `vpeval-count` (2,560), `vpeval-count-paper` (the paper's 1,000), `vpeval-text` (403),
      `vpeval-open` (160), `geneval` (553), `nsr1k-counting` (762), `nsr1k-spatial` (738, NSR-1K's
      train split), `nsr1k-spatial-val` (NSR-1K's val split, 283, not distributed: read from
      `layouts/nsr1k_spatial_val.jsonl` in the t2i folder when you have it, else a one-line error),
      `t2icompbench-spatial`, `t2icompbench-3d-spatial`, `t2icompbench-numeracy` (300 each).
    - `split`: `train` or `test` for generated sets (disjoint object sets); file sets have none.
    - `steps`: 2 (objects, then boxes; VPGen) or 1 (boxes only).
    - `num_prompts`: generated set size (default 1000 train, 200 test); for file sets, the first N.
    - `generator_seed`: seed of the template generator; `classes`: `coco` (80) or `paintskills` (21).
    - `data_dir`: the `t2i` folder; default: the data layer (`$RERST_DATA_DIR/t2i`, then the cache).
    - `records`: a JSONL file of normalised t2i records (any source; `../shared/data/t2i/README.md`)
      played instead of a prompt set (leave `prompt_set` and `data_dir` unset); `num_prompts` keeps the first N.
    - `protocol`: `"default"` (ours) or `"paper"` (LayoutGPT's / VPEval's rules; table under Rewards).
    - `reward`: `"binary"` or `"fraction"`.
    - `image_stage`: an `ImageStage` (image model + OCR), or None (layout-only scoring).
    - `render_mode`: None, `"ansi"` (transcript) or `"rgb_array"` (the layout drawn, `render_size` px square).

    ## Version History
    - v0: initial version. Issue 17 (same id): zero-area boxes no longer count as objects or meet
      relations (on 8,098 recorded actions of the main job's prompts, 31 verdicts changed, all with
      such a box); NSR-1K's "a few buss" read as a comparison; `protocol`, `records`,
      `nsr1k-spatial-val`; degenerate ground truth flagged at load.

    ## References
    - Cho, Zala, Bansal, "Visual Programming for Text-to-Image Generation and Evaluation" (VPGen, VPEval), NeurIPS 2023.
    - Cho et al., "DALL-Eval" (PaintSkills), ICCV 2023. Ghosh et al., "GenEval", NeurIPS 2023.
    - Feng et al., "LayoutGPT" (NSR-1K), NeurIPS 2023; `weixi-feng/LayoutGPT` @ fc31954962553e5b65bf267a904a6930d50b1f5e
      (`eval_spatial_layout.py`, `utils.py`, `eval_counting_layout.py`).
    - `aszala/VPEval` @ 4a54904b9c4547ee57a54af42410bc490a5ff8ec (`src/evaluation_functions.py`: `spatialEval`, `spatialEvalDino`).
    - Huang et al., "T2I-CompBench", NeurIPS 2023.
    - Dou et al., "Re-ReST: Reflection-Reinforced Self-Training for Language Agents", EMNLP 2024.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(self, prompt_set: str = "generated-count-spatial", split: str = "train", *, steps: Literal[1, 2] = 2,
                 num_prompts: int | None = None, generator_seed: int = 0, classes: str = "coco", data_dir: str | Path | None = None,
                 records: str | Path | None = None, protocol: Literal["default", "paper"] = "default",
                 reward: Literal["binary", "fraction"] = "binary", image_stage: ImageStage | None = None,
                 render_mode: str | None = None, render_size: int = 512) -> None:
        super().__init__(render_mode=render_mode)
        if steps not in (1, 2):
            raise ValueError(f"steps={steps!r} must be 2 (objects, then boxes, as VPGen) or 1 (boxes only).")
        if reward not in ("binary", "fraction"):
            raise ValueError(f"reward={reward!r} is not one of 'binary' (1 when every requirement is met) or 'fraction' (share met).")
        if render_size < 32:
            raise ValueError(f"render_size={render_size!r} is too small; use at least 32 pixels.")
        if protocol not in PROTOCOLS:
            import difflib

            close = difflib.get_close_matches(str(protocol), PROTOCOLS, n=1)
            raise ValueError(f"protocol={protocol!r} is not one of {list(PROTOCOLS)}{f'; did you mean {close[0]!r}?' if close else '.'}")
        if records is not None:
            if prompt_set != "generated-count-spatial" or data_dir is not None:
                raise ValueError(f"records={str(records)!r} replaces prompt_set and data_dir; pass either records=PATH or prompt_set=..., not both.")
            tasks = load_records(records, num_prompts=num_prompts)
            prompt_set = f"records:{records}"
        else:
            tasks = load_prompt_set(prompt_set, data_dir, split=split, num_prompts=num_prompts, generator_seed=generator_seed,
                                    classes=classes)
        self.tasks = {t.task_id: t for t in tasks}
        self.task_ids = [t.task_id for t in tasks]
        self.prompt_set, self.split, self.steps, self.reward_mode, self.protocol = prompt_set, split, steps, reward, protocol
        #: task id -> why its ground-truth layout was set aside at load (empty or degenerate).
        self.flagged_ground_truth: dict[str, str] = {t.task_id: t.gt_problem for t in tasks if t.gt_problem}
        self.image_stage, self.render_size = image_stage, render_size
        self._task: LayoutTask | None = None
        self._phase = 1
        self._objects_text = ""
        self._boxes: list[Box] = []
        self._privileged: dict[str, str] = {}

    # -- episode ------------------------------------------------------------------------------------
    def _start(self, task_id: str) -> tuple[str, dict[str, Any]]:
        self._task = self.tasks[task_id]
        self._phase, self._objects_text, self._boxes = 1, "", []
        first = STEP1_INSTRUCTION if self.steps == 2 else ONE_STEP_INSTRUCTION
        info = {"prompt": self._task.prompt, "skill": self._task.skill, "step": 1,
                "ground_truth_problem": self._task.gt_problem, "flagged_ground_truth": len(self.flagged_ground_truth)}
        return f"{first}\nCaption: {self._task.prompt}", info

    def _act(self, action: str) -> tuple[str, float, bool, Feedback, dict[str, Any]]:
        task = self._task
        assert task is not None
        action, cut = bounded_action(action, MAX_ACTION_CHARS)
        if self.steps == 2 and self._phase == 1:
            observation, reward, terminated, feedback, info = self._objects_step(task, action)
        else:
            observation, reward, terminated, feedback, info = self._layout_step(task, action)
        if cut:
            note = f"\n{cut_note(MAX_ACTION_CHARS)}"
            observation, feedback = observation + note, dataclasses.replace(feedback, message=feedback.message + note)
        return observation, reward, terminated, feedback, info

    def _layout_step(self, task: LayoutTask, action: str) -> tuple[str, float, bool, Feedback, dict[str, Any]]:
        parsed = parse_layout(action)
        self._boxes = parsed.boxes
        info: dict[str, Any] = {"prompt": task.prompt, "skill": task.skill}
        image_texts = None
        if self.image_stage is not None and task.texts:
            info["image"] = self.image_stage.generate(task.prompt, parsed.boxes)
            image_texts = self.image_stage.read_text(info["image"])
        feedback = score_layout(task, parsed, image_texts=image_texts, privileged=self._privileged_for(task), protocol=self.protocol)
        reward = feedback.score if self.reward_mode == "fraction" else float(bool(feedback.success))
        return feedback.message, reward, True, feedback, info

    def _objects_step(self, task: LayoutTask, action: str) -> tuple[str, float, bool, Feedback, dict[str, Any]]:
        parsed = parse_objects(action)
        self._phase = 2
        self._objects_text = " ".join(action.split())[:MAX_OBJECTS_ECHO]
        observation = f"{STEP2_INSTRUCTION}\nCaption: {task.prompt}\nObjects: {self._objects_text}"
        read = format_objects(parsed.items)
        lines = [f"Read {len(parsed.items)} object{'s' if len(parsed.items) != 1 else ''}: {read}." if parsed.items else "Read no objects."]
        if parsed.errors or parsed.notes:
            lines.append("While reading your answer: " + join_notes(parsed.errors + parsed.notes) + ".")
        if parsed.errors:
            lines.append(OBJECTS_FORMAT)
        details = {"objects": [[p, c] for p, c in parsed.items], "parse": {"notes": parsed.notes, "errors": parsed.errors}}
        feedback = Feedback(success=None, score=0.0, message="\n".join(lines), details=details)
        return observation, 0.0, False, feedback, {"prompt": task.prompt, "skill": task.skill, "step": 2}

    def _privileged_for(self, task: LayoutTask) -> str:
        """Ground truth where the data has it, else the env's reference layout when it meets every requirement."""
        if task.task_id not in self._privileged:
            text = ""
            if task.gt_boxes is not None:
                gt = list(task.gt_boxes)
                text = f"Ground-truth layout (NSR-1K, from COCO): objects `{_objects_of(gt)}`; boxes `{format_layout(gt)}`"
            else:
                ref = reference_layout(task)
                if ref and score_layout(task, ParsedLayout(boxes=ref), protocol=self.protocol).success:
                    text = f"A layout that meets every requirement (built by the env): objects `{_objects_of(ref)}`; boxes `{format_layout(ref)}`"
                if task.gt_problem:  # never shown as ground truth
                    text = f"(The data's ground-truth layout is unusable: {task.gt_problem}.) {text}".strip()
            self._privileged[task.task_id] = text
        return self._privileged[task.task_id]

    # -- rendering ----------------------------------------------------------------------------------
    def render(self) -> str | np.ndarray | None:
        """`ansi`: the transcript; `rgb_array`: the last layout drawn as labelled boxes (blank before one)."""
        if self.render_mode == "rgb_array":
            return draw_layout(self._boxes, self.render_size, caption=self._task.prompt if self._task else None)
        return super().render()


def _objects_of(boxes: list[Box]) -> str:
    counts: dict[str, int] = {}
    for b in boxes:
        counts[b.phrase] = counts.get(b.phrase, 0) + 1
    return format_objects(list(counts.items()))
