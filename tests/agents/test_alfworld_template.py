"""The ALFWorld ReAct template on the real engine: exemplars of the game's task type, and the
actions the parser recovers from model-style text are the commands the engine plays to a win."""

from __future__ import annotations

import pytest

pytest.importorskip("alfworld", reason='ALFWorld tests need the engine: pip install "rerest[alfworld]" (dev/setup.sh installs it)')

from rerest_agents.agent import Step, template_for  # noqa: E402
from rerest_envs.alfworld import ALFWorldEnv  # noqa: E402
from tests.envs.alfworld.conftest import GAME_PER_TYPE  # noqa: E402

#: env task type -> the exemplar family the template must show
EXEMPLAR_KIND = {"pick_and_place": "put", "look_at_obj_in_light": "examine", "clean": "clean", "heat": "heat",
                 "cool": "cool", "pick_two": "puttwo"}


@pytest.fixture(scope="module")
def env():
    env = ALFWorldEnv(split="valid_unseen")
    yield env
    env.close()


@pytest.mark.parametrize("task_type", sorted(GAME_PER_TYPE))
def test_prompts_show_exemplars_of_the_games_task_type(env, task_type):
    template = template_for("rerest/ALFWorld-v0")
    observation, _ = env.reset(options={"task_id": GAME_PER_TYPE[task_type]})
    _, exemplars = template.exemplar_picker(observation)
    assert exemplars and {e["task_type"] for e in exemplars} == {EXEMPLAR_KIND[task_type]}
    prompt = template.prompt(observation)
    assert prompt.count("-= Welcome to TextWorld, ALFRED! =-") == len(exemplars) + 1
    assert prompt.endswith(f"{observation.strip()}\nThought 1:")


def test_parsed_actions_of_model_style_turns_win_the_game(env):
    template = template_for("rerest/ALFWorld-v0")
    task_id = GAME_PER_TYPE["heat"]
    observation, _ = env.reset(options={"task_id": task_id})
    steps: list[Step] = []
    done = False
    for i, command in enumerate(env.expert_plan(task_id), start=1):
        # what a model writes after "Thought i:", including a made-up observation that must be cut
        completion = f" I should {command} now.\nAction {i}: {command}\nObservation {i}: you win"
        model_text, action = template.parse(completion)
        assert action == command and "Observation" not in model_text
        result, _, done, _, _ = env.step(action)
        steps.append(Step(model_text, result))
        assert result != "Nothing happens.", f"step {i} ({command!r}) was not admissible"
    assert done, "the expert plan played through the template's parser did not win"
    replay = template.prompt(observation, steps, few_shot=False)
    assert replay.endswith(f"Observation {len(steps)}: {steps[-1].observation.strip()}\nThought {len(steps) + 1}:")
