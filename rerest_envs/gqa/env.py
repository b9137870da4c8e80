"""`rerest/GQA-v0`: answer a GQA question by writing `execute_command(image)` against ViperGPT's ImagePatch."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rerest_envs.core import Feedback, TextEnv, bounded_action, cut_note
from rerest_envs.errors import DataNotFound
from rerest_envs.gqa.data import GQAQuestion, gqa_dir, load_questions, missing_inputs_message
from rerest_envs.gqa.perception.base import Detection, Perception, PerceptionServer, PerceptionUnavailable
from rerest_envs.gqa.program import RunOutcome, as_program, parse_error, run_program
from rerest_envs.gqa.render import draw_found
from rerest_envs.gqa.scoring import no_program, score_run

#: How answers should look; shown to the agent and shared with the harness's prompt.
ANSWER_FORMAT = ("Answer with a Python function `def execute_command(image) -> str:` that uses the ImagePatch API "
                 "and returns the answer, in a ```python code block.")
PERCEPTIONS = ("auto", "scene_graph", "neural")
PROTOCOLS = ("default", "paper")
#: Characters of an answer read (a ViperGPT program is a few hundred); the rest is cut with a note.
MAX_ACTION_CHARS = 20_000
#: Perception seconds a run may use with the neural perception (models on CPU are slow).
NEURAL_PERCEPTION_SECONDS = 300.0


class GQAEnv(TextEnv):
    """GQA visual question answering by visual programs (ViperGPT), one program per question.

    ## Description
    The agent reads a GQA question and writes `execute_command(image) -> str` against ViperGPT's
    `ImagePatch` API (`find`, `exists`, `verify_property(object_name, property)`,
    `best_text_match`, `simple_query`, `compute_depth`, `crop`, `overlaps_with`, the box
    attributes and centres, `cropped_image`, and the helpers `bool_to_yesno`, `distance`,
    `best_image_match`, `coerce_to_numeric`, `llm_query`; `math` and `np` are pre-imported, as
    in ViperGPT's namespace). y grows UPWARDS: `lower`/`upper` are the bottom/top borders, as in
    ViperGPT. The program runs in a sandbox from `sandboxes/` (time and memory limits); each
    perception call travels over a narrow request/answer channel to the env, where the
    `scene_graph` perception (the image's GQA scene graph: exact, deterministic, CPU) or the
    `neural` one (transformers detection, VQA and image-text models) answers it. The returned
    value is compared with the GQA answer. This is the GQA setting of Re-ReST (Dou et al., 2024),
    which follows ViperGPT (Surís et al., 2023).

    ## Protocols
    Reference: cvlab-columbia/viper (commit 09fe346) `image_patch.py` (the API), `main_batch.py`
    `run_program` (what a failed program answers) and `datasets/__init__.py`
    `general_postprocessing` + `datasets/gqa.py` `post_process`/`accuracy` (scoring).
    `tests/envs/gqa/test_parity_viper.py` transcribes them and checks 100% agreement of `"paper"`.

    | | `protocol="default"` | `protocol="paper"` (ViperGPT) |
    |---|---|---|
    | `crop`, `find` boxes | exact box, clipped to the image, rounded | `int()` of each side + 10 px on each side within the patch (`crop_larger_margin`) |
    | `ImagePatch(image, l, lo, r, u)` | clipped; empty -> `ValueError` | ViperGPT's tensor slice (Python slice rules); no area -> `Exception` |
    | `ImagePatch(patch)` | the patch's crop | `AttributeError`, as there |
    | `simple_query()` | asks "What is this?" | `TypeError` (ViperGPT's needs a question) |
    | `best_image_match` | max over texts; a str is one text | mean over `for cont in content` (a str's characters), first argmax |
    | `cropped_image` | the crop: `ImagePatch(p.cropped_image)` is it, coordinates from 0 | same |
    | `distance(a, b)` | ViperGPT's (edge gap; -IoU in float32 when touching; `abs(a - b)` for numbers) | same |
    | returned None | wrong, message asks for a string | read as "no" |
    | returned list / bool / other | `str(value)` (True/False -> yes/no) | first element ("no" if empty) / yes/no / `str()` (`general_postprocessing`) |
    | answer matching | both sides normalised (`answers.normalize_answer`) | `post_process(prediction) == gold` as written (5 of 748 golds, e.g. "t-shirt", can never match) |
    | failed program (error, timeout, no code, syntax error) | score 0 | ViperGPT's fixed code answers (`simple_query(question)` on the whole image, `viper_fallback` on by default); if it fails too, None -> "no" |
    | numpy in the sandbox | not importable (stdlib-only process sandbox): `np` raises a clear ImportError | the process sandbox shows site-packages |

    Deliberate differences from ViperGPT in both protocols: perception comes from our backends, not
    GLIP/BLIP/X-VLM (so `exists` does not re-ask "Is this a X?", `verify_property` and
    `best_text_match` have no CLIP thresholds, `find` has no area ratio); `coerce_to_numeric` reads
    the first number (no word2number/dateparser); a program has a time limit (`timeout`) and a
    perception budget (ViperGPT has neither); the returned value is read up to 4,000 characters.

    ## Robustness
    An action is read up to 20,000 characters (a note says so); a program is parsed before it runs
    (too deep to parse is a syntax error). The sandbox runs `api/supervisor.py`: a supervisor that
    never runs agent code forks the child that runs the program and writes the only report line
    itself, tagged with a nonce read from stdin after the fork (the child's stdin is /dev/null; the
    supervisor is non-dumpable, so its fds and memory are closed to the child's uid); the child's
    prints go to a pipe the supervisor drains, so printing cannot push the report out; the child
    hands back the returned value as one JSON line that is read as data, and the env reads the
    report as data too (anything malformed is a failed run, never an exception). What remains
    possible: a program decides its own returned value (that is the answer); where the sandbox runs
    jobs under the caller's uid (a non-root caller of the process sandbox), the program can open
    the worker's stdout file by path and append a line, but it never learns the nonce (which exists
    only in the supervisor after the fork), so the line is not read as the report; a program run as
    root (no such configuration here) could read the supervisor's memory. Perception: questions
    over 40 words and object names over 16 words are refused, phrases are resolved once each
    (polynomial; 40 words in < 0.3 s), and a run's perception time (`perception_seconds`) is
    enforced inside calls as well as between them (backends check the deadline), so a step ends
    within about `timeout + perception_seconds`. Channel calls from many threads are serialised.

    ## Action Space
    `AnyText`. A whole function in a ```python fence (or bare code), or only its body::

        ```python
        def execute_command(image) -> str:
            image_patch = ImagePatch(image)
            man_patches = image_patch.find("man")
            if not man_patches:
                return image_patch.simple_query("Is this an old man?")
            return bool_to_yesno(man_patches[0].verify_property("man", "old"))
        ```

    ## Observation Space
    `AnyText`. First observation (split `train_sample`, task `16205297`)::

        Question: Is this an old man?
        Answer with a Python function `def execute_command(image) -> str:` that uses the ImagePatch
        API and returns the answer, in a ```python code block.

    After the answer, the observation is the feedback message, e.g.
    `Your program returned: 'no'` / `That answer is correct.`, or
    `Your program failed: IndexError: list index out of range (line 3: man = image_patch.find("man")[0])`.
    A malformed answer (no code, a syntax error) gets e.g. `Your program does not parse:
    SyntaxError: invalid syntax (line 1). It was not run.` Under `"paper"` the message also says
    how ViperGPT read the answer (`That answer (read as 'no') is correct.`).

    ## Starting State
    One question of the split: `options={"task_id": "16205297"}` chooses it, otherwise the seeded
    `np_random` does.

    ## Rewards
    GQA accuracy: 1.0 when the answer matches under the protocol (see Protocols), else 0.0.
    Questions without a known answer (VisProg testdev ones not judged correct) always pay 0
    (`scored=False`).

    ## Episode End
    Terminates after the first answer (one step); never truncated.

    ## Information
    `info` at reset and step:
    - `task_id` (str): the GQA question id; `image_id` (str); `perception` (str, the backend of this
      question, or None when neither image nor scene graph exists).
    - `feedback` (`Feedback`): `success` (None at reset, then the answer matched), `score` (0 or
      1), `message` (the program's result or error), `privileged` (**reflector-only**: the gold
      answer), `details` (`extraction`, `program`, `protocol`, `parses`, `returned`,
      `answer_matches`, `result`, `result_type`, `error`, `stdout`, `perception_calls` (method,
      box, args, answer), `final_answer`, `normalized`, `gold`, `scored`, `duration`,
      `perception`, `fallback` when the viper fallback ran, `action_cut` when the action was cut).

    ## Arguments
    ```python
    gymnasium.make("rerest/GQA-v0", split="train_sample", data_dir=None, perception="auto", neural=None,
                   sandbox="process", timeout=10.0, memory_mb=512, protocol="default", viper_fallback=None,
                   perception_seconds=None, include_unrunnable=False, render_mode=None)
    ```
    - `split`: `train_sample` (33 train questions whose 14 images have scene graphs; `sg_train` (20)
      and `sg_test` (13) split it by image for held-out CPU runs), `testdev_visprog`
      (100 testdev questions with images; 31 carry a usable weak label), `val_ood_tail`, `val_exovip`,
      `testdev_ood`, `codevqa50`, or a `questions/*.jsonl` file.
    - `data_dir`: the `gqa` folder; default: the data layer (`$RERST_DATA_DIR/gqa`, then the cache).
    - `perception`: `auto` (the scene graph where the image has one, else neural on the image),
      `scene_graph`, `neural`, or a callable `question -> Perception`.
    - `neural`: a `NeuralConfig` (or dict of its fields: model ids of `detector`, `vqa`, `matcher`,
      `device`, `threshold`) for the neural perception; default `NeuralConfig()`.
    - `sandbox`: `"process"`, `"docker"`, or a `sandboxes.Sandbox` instance (shared, owned by the caller).
    - `timeout`, `memory_mb`: limits of one program run (waiting for perception is not counted).
    - `protocol`: `"default"` or `"paper"` (see Protocols).
    - `viper_fallback`: when the program fails (default protocol: or returns None), answer with
      `simple_query(question)` on the whole image, as ViperGPT does (`details["fallback"]`);
      None: on under `"paper"`, off under `"default"`.
    - `perception_seconds`: perception time of one run, enforced inside calls; None: `timeout` for
      the scene graph, 300 s for neural or custom perceptions. At most 500 perception calls a run.
    - `include_unrunnable`: keep questions whose image and scene graph are both missing (their
      answers get feedback saying so); by default they are left out.
    - `render_mode`: None, `"ansi"` (transcript) or `"rgb_array"` (the image, or a grey canvas of
      its size, with the boxes the program found).

    ## Version History
    - v0: initial version. Since then, in place (scoring of the default protocol unchanged except
      where noted): `protocol`, `perception_seconds`; `cropped_image` is the crop (was the whole
      image), `distance` of two numbers, `verify_property(x, "outdoors")` on outdoors images,
      `math`/`np` pre-imported, results up to 4,000 characters (was 1,000), actions up to 20,000.

    ## References
    - Hudson, Manning, "GQA", CVPR 2019. Surís, Menon, Vondrick, "ViperGPT", ICCV 2023.
    - Dou et al., "Re-ReST: Reflection-Reinforced Self-Training for Language Agents", EMNLP 2024.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(self, split: str = "train_sample", data_dir: str | Path | None = None, *,
                 perception: str | Callable[[GQAQuestion], Perception] = "auto", neural: Any = None,
                 sandbox: Any = "process", timeout: float = 10.0, memory_mb: int = 512, protocol: str = "default",
                 viper_fallback: bool | None = None, perception_seconds: float | None = None,
                 include_unrunnable: bool = False, render_mode: str | None = None) -> None:
        super().__init__(render_mode=render_mode)
        if isinstance(perception, str) and perception not in PERCEPTIONS:
            raise ValueError(f"perception={perception!r} is not one of {PERCEPTIONS} (or a callable question -> Perception).")
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol={protocol!r} is not one of {PROTOCOLS}.")
        if timeout <= 0 or memory_mb <= 0 or (perception_seconds is not None and perception_seconds <= 0):
            raise ValueError(f"timeout, memory_mb and perception_seconds must be positive, got timeout={timeout!r}, "
                             f"memory_mb={memory_mb!r}, perception_seconds={perception_seconds!r}.")
        self.split, self.perception_kind, self.protocol = split, perception, protocol
        self.timeout, self.memory_mb = timeout, memory_mb
        self.viper_fallback = (protocol == "paper") if viper_fallback is None else bool(viper_fallback)
        self.perception_seconds = perception_seconds
        self._folder = gqa_dir(data_dir)
        questions = load_questions(split, self._folder)
        if not include_unrunnable:
            runnable = [q for q in questions if self._backend_for(q) is not None]
            if not runnable:
                example = missing_inputs_message(questions[0], self._folder) if questions else "the split is empty."
                raise DataNotFound(f"No question of GQA split {split!r} can run with perception={perception!r} "
                                   f"({len(questions)} questions). {example} (include_unrunnable=True keeps them.)")
            questions = runnable
        self.questions = {q.question_id: q for q in questions}
        self.task_ids = [q.question_id for q in questions]
        from rerest_envs.gqa.perception.neural import NeuralConfig

        self.neural_config = NeuralConfig.coerce(neural)  # bad settings fail here, not at the first question
        self._neural_models: Any = None
        self._owns_sandbox = isinstance(sandbox, str)
        self._sandbox_spec, self._sandbox = sandbox, (None if self._owns_sandbox else sandbox)
        self._question: GQAQuestion | None = None
        self._found: list[Detection] = []
        self._perception_size: tuple[int, int] | None = None

    # -- perception ------------------------------------------------------------------------------
    def _backend_for(self, question: GQAQuestion) -> str | None:
        """Which perception answers this question (None: its inputs are missing)."""
        if callable(self.perception_kind):
            return "custom"
        available = question.runnable_on()
        if self.perception_kind == "auto":
            return available[0] if available else None
        return self.perception_kind if self.perception_kind in available else None

    def _make_perception(self, question: GQAQuestion, backend: str) -> Perception:
        if callable(self.perception_kind):
            return self.perception_kind(question)
        if backend == "scene_graph":
            from rerest_envs.gqa.perception.scene_graph import SceneGraphPerception

            return SceneGraphPerception(question.graph or {})
        from rerest_envs.gqa.perception.neural import NeuralModels, NeuralPerception

        if self._neural_models is None:
            self._neural_models = NeuralModels(self.neural_config)
        assert question.image_path is not None
        return NeuralPerception(question.image_path, self._neural_models)

    def _open_sandbox(self) -> Any:
        """The sandbox of this env: the caller's, or one started on first use (one worker)."""
        if self._sandbox is None:
            from sandboxes import make_sandbox

            # ViperGPT's programs find numpy pre-imported: the paper protocol's process sandbox shows site-packages
            extra = {"site_packages": True} if self.protocol == "paper" and self._sandbox_spec == "process" else {}
            self._sandbox = make_sandbox(self._sandbox_spec, workers=1, **extra)
        return self._sandbox

    # -- episode ---------------------------------------------------------------------------------
    def _start(self, task_id: str) -> tuple[str, dict[str, Any]]:
        self._question = self.questions[task_id]
        self._found = []
        graph = self._question.graph
        self._perception_size = (graph["width"], graph["height"]) if graph else None
        observation = f"Question: {self._question.question}\n{ANSWER_FORMAT}"
        return observation, {"image_id": self._question.image_id, "perception": self._backend_for(self._question)}

    def _act(self, action: str) -> tuple[str, float, bool, Feedback, dict[str, Any]]:
        question = self._question
        assert question is not None
        action, cut = bounded_action(action, MAX_ACTION_CHARS)
        feedback = self._judge(question, action)
        if cut:
            feedback = Feedback(success=feedback.success, score=feedback.score, message=f"{feedback.message}\n{cut_note(MAX_ACTION_CHARS)}",
                                privileged=feedback.privileged, details={**feedback.details, "action_cut": True})
        return feedback.message, float(feedback.score), True, feedback, {"image_id": question.image_id}

    def _judge(self, question: GQAQuestion, action: str) -> Feedback:
        program, how = as_program(action)
        backend = self._backend_for(question)
        details: dict[str, Any] = {"extraction": how, "program": program, "perception": backend, "protocol": self.protocol}
        failure = None
        if not program.strip():
            failure = "Your answer contains no code. " + ANSWER_FORMAT
            details.update(extracted=False, parses=False)
        else:
            error = parse_error(program)
            details.update(extracted=True, parses=error is None)
            if error is not None:
                failure = f"Your program does not parse: {error}. It was not run."
        if failure is None and backend is None:
            failure = missing_inputs_message(question, self._folder)
        if failure is not None and (self.protocol != "paper" or backend is None):
            return no_program(question, failure, details)
        assert backend is not None
        perception = self._make_perception(question, backend)
        self._perception_size = (perception.width, perception.height)
        seconds = self.perception_seconds
        if seconds is None:
            seconds = self.timeout if backend == "scene_graph" else NEURAL_PERCEPTION_SECONDS
        server = PerceptionServer(perception, max_seconds=seconds)
        if failure is None:
            outcome = run_program(program, server, self._open_sandbox(), timeout=self.timeout, memory_mb=self.memory_mb,
                                  protocol=self.protocol)
        else:  # paper: ViperGPT answers a program it cannot compile with its fixed code
            outcome = RunOutcome(error=failure)
        fallback = None
        # ViperGPT retries only a program that raised; its None is read as "no" (the default retries a None too)
        if self.viper_fallback and (outcome.error is not None or (outcome.result is None and self.protocol != "paper")):
            whole = (0.0, 0.0, float(perception.width), float(perception.height))
            try:
                fallback = str(server.call("simple_query", whole, None, [question.question]))
            except PerceptionUnavailable as exc:
                details["fallback"] = {"used": False, "error": str(exc)}
        self._found = list(server.found)
        return score_run(question, outcome, details, fallback, protocol=self.protocol, opening=failure)

    # -- rendering and cleanup -------------------------------------------------------------------
    def render(self) -> str | np.ndarray | None:
        """`rgb_array`: the image (grey canvas without a file) with the boxes `find` returned; `ansi`: the transcript."""
        if self.render_mode == "rgb_array":
            if self._question is None:
                return None
            width, height = self._perception_size or (640, 480)
            return draw_found(width, height, self._found, self._question.image_path, caption=self._question.question)
        return super().render()

    def close(self) -> None:
        """Stop the sandbox this env started (a sandbox passed in belongs to the caller) and free models."""
        if self._owns_sandbox and self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None
        self._neural_models = None
        super().close()


__all__ = ["ANSWER_FORMAT", "PERCEPTIONS", "PROTOCOLS", "GQAEnv"]
