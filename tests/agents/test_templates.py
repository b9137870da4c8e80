"""Agent templates: prompts per env family, and action parsing from what small models write."""

from __future__ import annotations

import pytest

from rerest_agents.agent import AgentTemplate, Step, register_template, template_for


def test_known_ids_get_their_family_and_unknown_ids_the_generic_template():
    assert template_for("rerest/MBPP-v0").name == "code"
    assert template_for("rerest_envs:rerest/HumanEval-v0").name == "code"
    assert template_for("rerest/Layout-v0").name == "layout"
    assert template_for("rerest/HotpotQA-v0").name == "hotpotqa"
    assert template_for("someone/Unknown-v3").name == "generic"


def test_users_can_register_a_template_for_their_env():
    mine = AgentTemplate(name="mine", style="single", instruction="Answer briefly.")
    register_template("acme/Guess-v0", mine)
    assert template_for("acme/Guess-v0") is mine and template_for("acme/Guess-v1") is mine


@pytest.mark.parametrize("text, action", [
    (" I should look it up.\nAction 2: Search[Paris]\nObservation 2: made up", "Search[Paris]"),
    ("Action: Finish[yes]", "Finish[yes]"),
    ("action 3 : lookup[river]", "lookup[river]"),
    ("I will search Search[Eiffel Tower] now", "Search[Eiffel Tower]"),
    ("just some words\nand a last line", "and a last line"),
    ("", ""),
])
def test_react_parser_recovers_actions(text, action):
    model_text, parsed = template_for("rerest/HotpotQA-v0").parse(text)
    assert parsed == action
    assert "Observation" not in model_text


def test_react_prompt_replays_the_episode_and_ends_with_the_next_thought():
    template = template_for("rerest/HotpotQA-v0")
    prompt = template.prompt("Question: Who?", [Step("Look.\nAction 1: Search[X]", "X is Y.")], few_shot=False)
    assert prompt.endswith("Question: Who?\nThought 1: Look.\nAction 1: Search[X]\nObservation 1: X is Y.\nThought 2:")
    assert "Eiffel" not in prompt and "Eiffel" in template.prompt("Question: Who?")


def test_code_answers_keep_their_fence_and_context_comes_before_the_task():
    template = template_for("rerest/MBPP-v0")
    prompt = template.prompt("Write f.", few_shot=False, context="Reflection: use a set.")
    assert prompt.endswith("Reflection: use a set.\n\nWrite f.\nAnswer:\n```python\n")
    assert template.parse("def f():\n    return 1\n") == ("def f():\n    return 1\n", "```python\ndef f():\n    return 1\n```")
    assert template.parse("def f(", stopped=False)[1] == "```python\ndef f("


def test_two_step_layout_observations_pick_their_exemplars():
    template = template_for("rerest/Layout-v0")
    assert "(2)" in template.prompt("Instruction: Given an image caption, determine objects and their counts.\nCaption: two cats")
    assert "[(" in template.prompt("Instruction: Given an image caption, determine the objects and the coordinates of the objects.\nCaption: x")


def test_a_markers_trailing_space_is_left_to_the_model():
    template = template_for("rerest/Layout-v0")
    caption = "Instruction: Given an image caption, determine the objects and the coordinates of the objects.\nCaption: a cat"
    prompt = template.prompt(caption)
    assert prompt.endswith("Caption: a cat\nAnswer:")
    assert "\nAnswer: cat [(5, 45, 40, 85)]" in prompt  # exemplars keep the space
    assert template.parse(" cat [(1, 2, 30, 40)]") == (" cat [(1, 2, 30, 40)]", " cat [(1, 2, 30, 40)]")


def _failed_owl_layout():
    from rerest_agents.rollout.records import Trajectory

    return Trajectory.from_dict({"key": "sampled/t/0", "env_id": "rerest/Layout-v0", "task_id": "t", "observation": "Caption: 2 owls",
                                 "steps": [{"model_text": " owl [(1, 1, 9, 9)]", "action": " owl [(1, 1, 9, 9)]",
                                            "observation": "", "reward": 0.0}],
                                 "feedback": {"message": "- the prompt asks for 2 owls, the layout has 1"}})


def test_reflection_prompts_show_the_templates_example_reflections():
    from rerest_agents.reflect.reflector import REFLECTION_LEAD, ReflectConfig, reflection_prompt

    failed = _failed_owl_layout()
    layout = template_for("rerest/Layout-v0")
    prompt = reflection_prompt(failed, layout, ReflectConfig())
    assert layout.reflection_exemplars and prompt.count(REFLECTION_LEAD) == len(layout.reflection_exemplars) + 1
    assert prompt.endswith("Caption: 2 owls\n\nPrevious attempt:\nowl [(1, 1, 9, 9)]\n\n"
                           "Feedback:\n- the prompt asks for 2 owls, the layout has 1\n\nReflection:")
    bare = reflection_prompt(failed, AgentTemplate(name="x", style="single", instruction="Do it."), ReflectConfig())
    assert bare.count(REFLECTION_LEAD) == 1


def test_repairs_can_be_played_without_showing_the_failed_attempt_again():
    from rerest_agents.reflect.reflector import ReflectConfig, repair_context

    failed = _failed_owl_layout()
    layout = template_for("rerest/Layout-v0")
    shown = repair_context(failed, layout, ReflectConfig(), "Draw 2 owls.")
    hidden = repair_context(failed, layout, ReflectConfig(repair_shows_attempt=False), "Draw 2 owls.")
    assert "Previous attempt:\nowl [(1, 1, 9, 9)]" in shown
    assert "owl [(" not in hidden and "Caption" not in hidden
    assert hidden == ("Feedback on an earlier attempt:\n- the prompt asks for 2 owls, the layout has 1\n\n"
                      "Reflection: Draw 2 owls.\n\nNow solve the task again, avoiding that mistake.")


def test_a_direct_repair_follows_the_feedback_without_a_reflection():
    from rerest_agents.reflect.reflector import ReflectConfig, repair_context

    direct = repair_context(_failed_owl_layout(), template_for("rerest/Layout-v0"),
                            ReflectConfig(repair_shows_attempt=False, direct=True), "ignored")
    assert direct == ("Feedback on an earlier attempt:\n- the prompt asks for 2 owls, the layout has 1\n\n"
                      "Now solve the task again, fixing what the feedback points out.")
