"""The harness's GQA template: our exemplar programs answer their questions, and a completion becomes a program."""

from __future__ import annotations

import gymnasium
import pytest

from rerest_agents.agent import template_for
from rerest_agents.prompts import load_exemplars
from rerest_envs.gqa import ANSWER_FORMAT, GQAEnv, PerceptionServer, SceneGraphPerception, answers_match, load_questions, load_scene_graphs, run_program
from rerest_envs.gqa.program import as_program
from sandboxes import make_sandbox

EXEMPLARS = load_exemplars("gqa")["exemplars"]


def test_exemplars_look_like_the_env_and_are_new_questions() -> None:
    asked = {q.question.lower() for q in load_questions("train_sample")}
    for exemplar in EXEMPLARS:
        assert exemplar["observation"].endswith("\n" + ANSWER_FORMAT)
        assert exemplar["observation"].split("\n", 1)[0].removeprefix("Question: ").lower() not in asked


def test_exemplar_programs_answer_their_questions_on_the_scene_graphs() -> None:
    graphs = load_scene_graphs()
    with make_sandbox("process", workers=1) as sandbox:
        for exemplar in EXEMPLARS:
            program, _ = as_program(exemplar["steps"][0]["text"])
            outcome = run_program(program, PerceptionServer(SceneGraphPerception(graphs[exemplar["image_id"]])), sandbox)
            assert outcome.error is None and answers_match(outcome.result, exemplar["answer"]), (exemplar["observation"], outcome)


def test_a_body_completion_becomes_a_program_the_env_runs() -> None:
    template = template_for("rerest/GQA-v0")
    assert template.name == "gqa" and template.style == "single"
    env: GQAEnv = gymnasium.make("rerest/GQA-v0").unwrapped
    try:
        observation, _ = env.reset(options={"task_id": "16205297"})
        prompt = template.prompt(observation)
        assert prompt.endswith("Answer:\n```python\ndef execute_command(image) -> str:\n") and "y grows UPWARDS" in prompt
        completion = "    man = ImagePatch(image).find('man')[0]\n    return bool_to_yesno(man.verify_property('man', 'old'))\n"
        _, action = template.parse(completion, stopped=True)
        _, reward, _, _, info = env.step(action)
        assert reward == 1.0 and info["feedback"].details["extraction"] == "fence"
    finally:
        env.close()


@pytest.mark.parametrize("exemplar", EXEMPLARS, ids=lambda e: e["image_id"])
def test_exemplar_text_starts_with_the_template_prefix(exemplar: dict) -> None:
    assert exemplar["steps"][0]["text"].startswith(template_for("rerest/GQA-v0").answer_prefix)
