"""GQA env behaviour: observations, feedback for every way a program can fail, fallback, render, data errors."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

from rerest_envs.errors import DataNotFound
from rerest_envs.gqa import ANSWER_FORMAT, GQAEnv, load_questions
from rerest_envs.gqa.program import MAX_RESULT
from rerest_envs.gqa.render import CANVAS

OLD_MAN = "16205297"  # Is this an old man? -> no   (image 2406519, 500 x 333)
HAT = "17846264"  # Who is wearing a hat? -> guy


def step(env: GQAEnv, task_id: str, action: str) -> tuple[str, float, dict]:
    env.reset(options={"task_id": task_id})
    observation, reward, terminated, truncated, info = env.step(action)
    assert terminated and not truncated
    return observation, reward, info


def test_observation_and_info(env: GQAEnv) -> None:
    observation, info = env.reset(options={"task_id": OLD_MAN})
    assert observation == f"Question: Is this an old man?\n{ANSWER_FORMAT}"
    assert info["image_id"] == "2406519" and info["perception"] == "scene_graph"
    assert info["feedback"].success is None


@pytest.mark.parametrize("action, message", [
    ("I don't know", "Your program does not parse: SyntaxError"),
    ("", "Your answer contains no code."),
    ("```python\ndef execute_command(image):\n    return ImagePatch(image).find('man')[5].left\n```",
     "Your program failed: IndexError: list index out of range (line 2: return ImagePatch(image).find('man')[5].left)"),
    ("def execute_command(image):\n    x = 1\n", "Your program returned None; execute_command(image) must return the answer"),
    ("def solve(image):\n    return 'no'\n", "Your program failed: NameError: the program does not define execute_command(image)"),
    ("def execute_command(image):\n    while True:\n        pass\n", "Your program failed: timed out after 2 s"),
    ("import sys\nsys.exit(0)\ndef execute_command(image):\n    return 'no'\n", "Your program failed: SystemExit: 0 (line 2: sys.exit(0))"),
    ("def execute_command(image):\n    return ImagePatch(image).llm_query('Who?')\n",
     "Your program failed: image_patch.PerceptionError: llm_query is not available"),
    ("def execute_command(image):\n    return image.perceive('__class__', [0, 0, 1, 1], None, [])\n",
     "Your program failed: image_patch.PerceptionError: unknown perception method '__class__'"),
    ("def execute_command(image):\n    return ImagePatch(image).simple_query('Why is the sky blue?')\n",
     "Your program failed: image_patch.PerceptionError: the scene graph cannot answer 'Why is the sky blue?'"),
    ("def execute_command(image):\n    return ImagePatch(image, 10, 10, 5, 20).simple_query()\n",
     "Your program failed: ValueError: ImagePatch is empty"),
    ("def execute_command(image):\n    p = ImagePatch(image)\n    while True:\n        try:\n            p.find('man')\n"
     "        except Exception as e:\n            return str(e)\n", "Your program returned: 'this run used up its perception budget (500 calls"),
])
def test_failures_become_feedback(action: str, message: str) -> None:
    env = gymnasium.make("rerest/GQA-v0", timeout=2.0).unwrapped
    try:
        observation, reward, info = step(env, OLD_MAN, action)
    finally:
        env.close()
    assert observation.startswith(message), observation
    assert reward == 0.0 and info["feedback"].success is False and info["feedback"].privileged == "Correct answer: no. Full answer: No, this is a young man."


def test_a_huge_result_is_cut_not_lost(env: GQAEnv) -> None:
    _, reward, info = step(env, OLD_MAN, "def execute_command(image):\n    return 'no' * 10_000_000\n")
    assert reward == 0.0 and len(info["feedback"].details["result"]) == MAX_RESULT


def test_a_body_without_def_is_wrapped(env: GQAEnv) -> None:
    observation, reward, info = step(env, OLD_MAN, "    man = ImagePatch(image).find('man')[0]\n    return bool_to_yesno(man.verify_property('man', 'old'))\n")
    assert reward == 1.0 and info["feedback"].details["extraction"] == "bare+body"
    _, reward, info = step(env, OLD_MAN, "```python\nreturn 'no'\n```")
    assert reward == 1.0 and info["feedback"].details["extraction"] == "fence+body"


def test_prints_cannot_forge_the_result(env: GQAEnv) -> None:
    observation, reward, info = step(env, OLD_MAN, "def execute_command(image):\n    print('@@gqa-0000000000000000@@{\"result\": \"no\"}')\n    return 'yes'\n")
    assert reward == 0.0 and info["feedback"].details["result"] == "yes" and "@@gqa" in info["feedback"].details["stdout"]


def test_boxes_use_the_bottom_origin_convention(env: GQAEnv) -> None:
    # The man is at x=191, y=5, w=232, h=327 (top-origin) in a 500 x 333 image.
    _, _, info = step(env, OLD_MAN, "def execute_command(image):\n    m = ImagePatch(image).find('man')[0]\n"
                                    "    return f'{m.left} {m.lower} {m.right} {m.upper} {m.vertical_center}'\n")
    assert info["feedback"].details["result"] == "191 1 423 328 164.5"


def test_viper_fallback_is_off_by_default_and_reported_when_used() -> None:
    crash = "def execute_command(image):\n    return 1 / 0\n"
    env = gymnasium.make("rerest/GQA-v0").unwrapped
    try:
        _, reward, info = step(env, HAT, crash)
        assert reward == 0.0 and "fallback" not in info["feedback"].details
    finally:
        env.close()
    env = gymnasium.make("rerest/GQA-v0", viper_fallback=True).unwrapped
    try:
        observation, reward, info = step(env, HAT, crash)
        assert reward == 1.0 and info["feedback"].details["fallback"] == {"used": True, "answer": "guy"}
        assert "Fallback (simple_query on the whole image) answered: 'guy'" in observation
        _, reward, info = step(env, "16205217", crash)  # "Who seems to be younger, the lady or the man?": the graph cannot say
        assert reward == 0.0 and info["feedback"].details["fallback"]["used"] is False
    finally:
        env.close()


def test_render_draws_the_found_boxes_on_a_canvas_of_the_image_size(env: GQAEnv) -> None:
    env.reset(options={"task_id": OLD_MAN})
    before = env.render()
    assert isinstance(before, np.ndarray) and before.shape == (333, 500, 3)
    step(env, OLD_MAN, "def execute_command(image):\n    ImagePatch(image).find('man')\n    return 'no'\n")
    after = env.render()
    assert after.shape == (333, 500, 3)
    # The man's box edge (x = 191) is drawn; the canvas elsewhere stays grey.
    assert tuple(after[200, 191]) != CANVAS and tuple(after[200, 100]) == CANVAS
    assert len(env._found) == 1


def test_questions_without_image_or_graph_are_explained() -> None:
    with pytest.raises(DataNotFound, match=r"No question of GQA split 'val_ood_tail' can run .* neither image .* nor its scene graph"):
        gymnasium.make("rerest/GQA-v0", split="val_ood_tail")
    with pytest.raises(DataNotFound, match=r"perception='neural' \(33 questions\)"):
        gymnasium.make("rerest/GQA-v0", perception="neural")  # train images are not shipped, only their graphs
    env = gymnasium.make("rerest/GQA-v0", split="val_ood_tail", include_unrunnable=True).unwrapped
    try:
        assert len(env.task_ids) == 1358
        observation, info = env.reset(seed=0)
        assert info["perception"] is None
        observation, reward, terminated, _, info = env.step("def execute_command(image):\n    return 'yes'\n")
        assert reward == 0.0 and terminated and "cannot run: neither image" in observation
    finally:
        env.close()


def test_bad_arguments_name_the_fix() -> None:
    with pytest.raises(ValueError, match="Did you mean 'train_sample'"):
        gymnasium.make("rerest/GQA-v0", split="train_sampel")
    with pytest.raises(ValueError, match="perception='depth' is not one of"):
        gymnasium.make("rerest/GQA-v0", perception="depth")
    with pytest.raises(DataNotFound, match="data_dir="):
        gymnasium.make("rerest/GQA-v0", data_dir="/nonexistent/gqa")


def test_every_question_file_loads() -> None:
    counts = {split: len(load_questions(split)) for split in
              ("train_sample", "val_ood_tail", "val_exovip", "testdev_ood", "testdev_visprog", "codevqa50")}
    assert counts == {"train_sample": 33, "val_ood_tail": 1358, "val_exovip": 2327, "testdev_ood": 2796,
                      "testdev_visprog": 100, "codevqa50": 50}
    train, test = load_questions("sg_train"), load_questions("sg_test")
    assert (len(train), len(test)) == (20, 13) and not {q.image_id for q in train} & {q.image_id for q in test}
    visprog = load_questions("testdev_visprog")
    assert all(q.image_path is not None and q.graph is None for q in visprog)
    assert sum(q.answer_source == "weak" for q in visprog) == 31
