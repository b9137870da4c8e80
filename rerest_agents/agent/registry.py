"""Which `AgentTemplate` drives which env id; a generic ReAct template drives ids it does not know.

Users who register their own env can register a template too::

    register_template("myorg/Sokoban-v0", AgentTemplate(name="sokoban", style="react", instruction="..."))
"""

from __future__ import annotations

from collections.abc import Callable

from rerest_agents.agent.template import AgentTemplate, exemplar_template
from rerest_agents.prompts import load_exemplars

GENERIC_INSTRUCTION = ("Interact with the environment to complete the task. On each turn, write a short thought, then "
                       "exactly one action on its own line as `Action N: <action>`. The environment replies with an "
                       "observation.")


def _code() -> AgentTemplate:
    return exemplar_template("code", "code", "single", answer_marker="Answer:\n", answer_prefix="```python\n",
                             answer_suffix="```", stop=("```",), max_tokens=384)


def _layout_picker(observation: str) -> tuple[str, tuple[dict, ...]]:
    family = "layout_objects" if "determine objects and their counts" in observation else "layout"
    data = load_exemplars(family)
    return data["instruction"], tuple(data["exemplars"])


def _layout() -> AgentTemplate:
    return exemplar_template("layout", "layout", "single", answer_marker="Answer: ", stop=("\n",), exemplar_picker=_layout_picker,
                             max_tokens=96)


def _hotpotqa() -> AgentTemplate:
    return exemplar_template("hotpotqa", "hotpotqa", "react", stop=("\nObservation",), max_tokens=128)


def _gqa() -> AgentTemplate:
    return exemplar_template("gqa", "gqa", "single", answer_marker="Answer:\n",
                             answer_prefix="```python\ndef execute_command(image) -> str:\n", answer_suffix="```",
                             stop=("```",), max_tokens=256)


#: ALFWorld task sentence -> exemplar task type (the goal library's templates, as ReAct maps games to prompts).
_ALFWORLD_KINDS = (("put two ", "puttwo"), ("find two ", "puttwo"), ("clean", "clean"), ("hot ", "heat"), ("heat ", "heat"),
                   ("cool", "cool"), ("look at ", "examine"), ("examine ", "examine"))


def _alfworld_picker(observation: str) -> tuple[str, tuple[dict, ...]]:
    data = load_exemplars("alfworld")
    task = observation.rsplit("Your task is to:", 1)[-1]
    kind = next((k for needle, k in _ALFWORLD_KINDS if needle in task), "put")
    return data["instruction"], tuple(e for e in data["exemplars"] if e.get("task_type") == kind)


def _alfworld() -> AgentTemplate:
    data = load_exemplars("alfworld")
    return AgentTemplate(name="alfworld", style="react", instruction=data["instruction"], exemplars=tuple(data["exemplars"]),
                         stop=("\nObservation",), exemplar_picker=_alfworld_picker, max_tokens=96)


def generic_template() -> AgentTemplate:
    """ReAct with no exemplars: what an env id without a template of its own gets."""
    return AgentTemplate(name="generic", style="react", instruction=GENERIC_INSTRUCTION, stop=("\nObservation",), max_tokens=128)


#: env id (without version) -> template factory
_TEMPLATES: dict[str, Callable[[], AgentTemplate]] = {
    "rerest/MBPP": _code,
    "rerest/HumanEval": _code,
    "rerest/Layout": _layout,
    "rerest/HotpotQA": _hotpotqa,
    "rerest/GQA": _gqa,
    "rerest/ALFWorld": _alfworld,
}


def register_template(env_id: str, template: AgentTemplate | Callable[[], AgentTemplate]) -> None:
    """Use `template` for `env_id` (with or without its `-vN` suffix)."""
    _TEMPLATES[env_id.rsplit("-v", 1)[0] if "-v" in env_id else env_id] = template if callable(template) else (lambda: template)


def template_for(env_id: str) -> AgentTemplate:
    """The template registered for `env_id` (`rerest_envs:` module prefixes are ignored), else the generic one."""
    bare = env_id.split(":", 1)[-1]
    key = bare.rsplit("-v", 1)[0] if "-v" in bare else bare
    factory = _TEMPLATES.get(bare) or _TEMPLATES.get(key)
    return factory() if factory else generic_template()
