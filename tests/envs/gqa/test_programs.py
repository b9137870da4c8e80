"""Every scene-graph question is answerable: our hand-written ViperGPT-style programs, run in the sandbox."""

from __future__ import annotations

import pytest

from rerest_envs.gqa import GQAEnv, load_questions
from tests.envs.gqa.programs import PROGRAMS

QUESTIONS = load_questions("train_sample")


def test_there_is_a_program_for_each_of_the_33_questions() -> None:
    assert len(QUESTIONS) == 33
    assert sorted(PROGRAMS) == sorted(q.question_id for q in QUESTIONS)
    assert all(q.graph is not None for q in QUESTIONS)


@pytest.mark.parametrize("question_id", sorted(PROGRAMS))
def test_hand_written_program_answers_correctly(env: GQAEnv, question_id: str) -> None:
    env.reset(options={"task_id": question_id})
    observation, reward, terminated, truncated, info = env.step(PROGRAMS[question_id])
    feedback = info["feedback"]
    assert (reward, terminated, truncated) == (1.0, True, False), (observation, feedback.details["perception_calls"])
    assert feedback.success is True and feedback.score == 1.0
    assert observation.startswith("Your program returned: ") and observation.endswith("That answer is correct.")
    assert feedback.details["perception"] == "scene_graph" and feedback.details["perception_calls"]
    assert feedback.privileged.startswith(f"Correct answer: {env.questions[question_id].answer}")
    assert feedback.privileged not in observation


def test_a_wrong_program_scores_zero_with_a_message(env: GQAEnv) -> None:
    env.reset(options={"task_id": "16205297"})  # Is this an old man? -> no
    _, reward, _, _, info = env.step("def execute_command(image):\n    return 'yes'\n")
    assert reward == 0.0 and info["feedback"].success is False
    assert info["feedback"].message == "Your program returned: 'yes'\nThat answer is wrong."


@pytest.mark.docker
def test_the_programs_also_run_on_the_docker_backend() -> None:
    from tests.sandboxes.conftest import docker_ready

    if not docker_ready():
        pytest.skip("no dockerd running (bash dev/dockerd.sh start)")
    env = GQAEnv(sandbox="docker")
    try:
        rewards = []
        for question_id, program in sorted(PROGRAMS.items()):
            env.reset(options={"task_id": question_id})
            rewards.append(env.step(program)[1])
        assert rewards == [1.0] * len(PROGRAMS)
    finally:
        env.close()
