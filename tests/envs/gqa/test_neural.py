"""The neural perception on the testdev images, with tiny random models built from configs (no hub)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gymnasium
import numpy as np
import pytest

from rerest_envs.gqa import GQAEnv
from rerest_envs.gqa.perception.neural import NeuralConfig
from tests.envs.gqa.tiny_models import VQA_ANSWERS, build_tiny_models

pytest.importorskip("transformers")

EVERY_METHOD = '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    chairs = image_patch.find("chair")
    seen = [image_patch.exists("dog"), image_patch.compute_depth(), image_patch.best_text_match(["red", "blue"], prefix="a")]
    if chairs:
        best = best_image_match(chairs[:3], ["a chair", "a table"])
        seen += [best.verify_property("chair", "wooden"), best.simple_query(), distance(best, image_patch)]
        seen.append(best.crop(0, 0, best.width // 2 + 1, best.height).simple_query("What color is this?"))
    print(seen)
    return image_patch.simple_query("Which kind of furniture is below the decoration?")
'''


@pytest.fixture(scope="module")
def neural_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    return build_tiny_models(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture(scope="module")
def neural_env(neural_settings: dict[str, object]) -> Iterator[GQAEnv]:
    made = gymnasium.make("rerest/GQA-v0", split="testdev_visprog", perception="neural", neural=neural_settings,
                          render_mode="rgb_array")
    yield made.unwrapped
    made.close()


def test_every_api_method_runs_through_the_models(neural_env: GQAEnv) -> None:
    neural_env.reset(options={"task_id": "visprog_pr_000"})
    observation, reward, terminated, _, info = neural_env.step(EVERY_METHOD)
    feedback = info["feedback"]
    assert feedback.details["error"] is None, observation
    assert feedback.details["perception"] == "neural" and feedback.details["result"] in VQA_ANSWERS
    methods = {call["method"] for call in feedback.details["perception_calls"]}
    assert {"find", "exists", "compute_depth", "best_text_match", "simple_query"} <= methods
    assert all("error" not in call for call in feedback.details["perception_calls"])
    assert terminated and reward in (0.0, 1.0)
    assert feedback.privileged == "Correct answer: couch (weak label: a VisProg answer judged correct by a person)."
    picture = neural_env.render()
    assert isinstance(picture, np.ndarray) and picture.shape == (neural_env.unwrapped._perception_size[1], neural_env.unwrapped._perception_size[0], 3)


def test_detections_are_bottom_origin_boxes_inside_the_image(neural_env: GQAEnv) -> None:
    neural_env.reset(options={"task_id": "visprog_pr_001"})
    program = "def execute_command(image):\n    p = ImagePatch(image)\n    return str([(d.left, d.lower, d.right, d.upper) for d in p.find('thing')][:5])\n"
    _, _, _, _, info = neural_env.step(program)
    boxes = eval(info["feedback"].details["result"])
    width, height = neural_env._perception_size
    assert boxes and all(0 <= l < r <= width and 0 <= lo < u <= height for l, lo, r, u in boxes)


@pytest.mark.slow
def test_all_testdev_images_run_through_the_neural_path(neural_env: GQAEnv) -> None:
    program = "def execute_command(image):\n    return ImagePatch(image).simple_query('What is this?')\n"
    results = []
    for task_id in neural_env.task_ids:
        neural_env.reset(options={"task_id": task_id})
        _, _, _, _, info = neural_env.step(program)
        results.append(info["feedback"].details["result"])
    assert len(results) == 100 and all(r in VQA_ANSWERS for r in results)
    scored = [neural_env.questions[t].answer is not None for t in neural_env.task_ids]
    assert sum(scored) == 31  # 34 judged correct, 3 of them with an empty answer


def test_bad_neural_settings_fail_at_make() -> None:
    with pytest.raises(ValueError, match="Unknown neural perception setting"):
        gymnasium.make("rerest/GQA-v0", split="testdev_visprog", perception="neural", neural={"detektor": "x"})
    assert NeuralConfig.coerce(None) == NeuralConfig()


def test_a_model_that_cannot_load_becomes_program_feedback(tmp_path: Path) -> None:
    env = gymnasium.make("rerest/GQA-v0", split="testdev_visprog", perception="neural",
                         neural={"vqa": str(tmp_path / "missing"), "local_files_only": True})
    try:
        env.reset(options={"task_id": "visprog_pr_000"})
        observation, reward, _, _, info = env.step("def execute_command(image):\n    return ImagePatch(image).simple_query('What?')\n")
        assert reward == 0.0 and observation.startswith("Your program failed: image_patch.PerceptionError: the neural perception failed")
    finally:
        env.close()
