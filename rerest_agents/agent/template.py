"""`AgentTemplate`: how an agent turns an episode so far into a prompt, and model text into an action.

Two styles cover the paper's tasks:
  * `single`: one answer per observation (MBPP, HumanEval, GQA, layouts). The prompt is the
    instruction, the few-shot exemplars, the current observation and an answer marker; the model's
    text (plus a fixed prefix such as an opened code fence) is the action.
  * `react`: Thought / Action / Observation turns (HotpotQA, ALFWorld, unknown envs). The prompt
    replays the episode so far; the model writes a thought and `Action N: ...`, generation stops at
    `Observation`, and the parser recovers the action from what small models really write.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rerest_agents.prompts import load_exemplars

Style = Literal["single", "react"]

_ACTION_LINE = re.compile(r"Action\s*\d*\s*:\s*(.+)", re.I)
_BRACKET_CALL = re.compile(r"\b([A-Z][A-Za-z]*\[[^\]\n]*\]?)")


@dataclass(frozen=True)
class Step:
    """One turn of an episode as the prompt shows it: what the model wrote, and the env's reply."""

    text: str
    observation: str


@dataclass(frozen=True)
class AgentTemplate:
    """Prompt format and action parser for one family of envs.

    Attributes:
        name: Template name (recorded with each trajectory).
        style: `single` or `react` (see module docstring).
        instruction: First paragraph of every prompt.
        exemplars: Few-shot episodes: dicts with `observation` and `steps` ([{text, observation}]).
        answer_marker: `single` style: text between the observation and the answer. A trailing space
            ("Answer: ") is written in the exemplars but left to the model in the open prompt: the
            SentencePiece tokenizers of small models merge a word with the space before it ("▁apple"),
            so a prompt that ends in a space asks for a rare split and hurts.
        answer_prefix: `single` style: text the prompt already opens the answer with (e.g. "```python\\n");
            it is part of the action.
        stop: Stop strings for generation.
        answer_suffix: Appended to the action when generation stopped at a stop string (e.g. a closing fence).
        exemplar_picker: Optional: choose the exemplar family from the observation (two-step layouts).
        max_tokens: Default completion length per turn.
        reflection_exemplars: Few-shot reflections for the reflector's prompt: dicts with `task`,
            `attempt`, `feedback` and `reflection` (a base model shown none writes generic prose).
    """

    name: str
    style: Style
    instruction: str
    exemplars: tuple[dict[str, Any], ...] = ()
    answer_marker: str = "Answer:\n"
    answer_prefix: str = ""
    answer_suffix: str = ""
    stop: tuple[str, ...] = ()
    exemplar_picker: Callable[[str], tuple[str, tuple[dict[str, Any], ...]]] | None = field(default=None, compare=False)
    max_tokens: int = 256
    reflection_exemplars: tuple[dict[str, str], ...] = ()

    # -- prompts ------------------------------------------------------------------------------------
    def prompt(self, observation: str, steps: Sequence[Step] = (), *, few_shot: bool = True, context: str = "") -> str:
        """The prompt for the next turn of an episode that began with `observation`.

        Args:
            observation: The episode's first observation (react) or the current one (single).
            steps: Turns already played (react style only).
            few_shot: Include the exemplars (training prompts usually leave them out).
            context: Text placed just before the task (the reflector's reflection on a failed try).
        """
        instruction, exemplars = self.instruction, self.exemplars
        if self.exemplar_picker is not None:
            instruction, exemplars = self.exemplar_picker(observation)
        parts = [instruction.strip()]
        if few_shot:
            parts += [self._render(ex["observation"], [Step(s["text"], s["observation"]) for s in ex["steps"]], done=True)
                      for ex in exemplars]
        task = self._render(observation, list(steps), done=False)
        parts.append(f"{context.strip()}\n\n{task}" if context.strip() else task)
        return "\n\n".join(parts)

    def _render(self, observation: str, steps: list[Step], *, done: bool) -> str:
        if self.style == "single":
            if done:
                return f"{observation.strip()}\n{self.answer_marker}{steps[0].text.strip()}"
            return f"{observation.strip()}\n{(self.answer_marker + self.answer_prefix).rstrip(' ')}"
        lines = [observation.strip()]
        for i, step in enumerate(steps, start=1):
            lines.append(f"Thought {i}: {step.text.strip()}")
            if step.observation or not done:
                lines.append(f"Observation {i}: {step.observation.strip()}")
        if not done:
            lines.append(f"Thought {len(steps) + 1}:")
        return "\n".join(lines)

    # -- parsing ------------------------------------------------------------------------------------
    def parse(self, text: str, stopped: bool = True) -> tuple[str, str]:
        """Return `(model_text, action)` from a completion.

        `model_text` is what the model wrote, cut after the action line (react) so that hallucinated
        observations never enter the record; `action` is what goes to `env.step`. Garbage gives a
        garbage action: the env answers it with feedback.
        """
        if self.style == "single":
            suffix = self.answer_suffix if stopped else ""
            return text, f"{self.answer_prefix.rstrip(' ')}{text}{suffix}"
        lines = text.split("\n")
        for i, line in enumerate(lines):
            match = _ACTION_LINE.search(line)
            if match:
                return "\n".join(lines[: i + 1]).rstrip(), match.group(1).strip()
        calls = _BRACKET_CALL.findall(text)
        if calls:  # "Search[Paris]" without the "Action:" label
            cut = text.find(calls[0]) + len(calls[0])
            return text[:cut].rstrip(), calls[0].strip()
        last = next((line.strip() for line in reversed(lines) if line.strip()), "")
        return text.rstrip(), last


def exemplar_template(name: str, family: str, style: Style, **kwargs: Any) -> AgentTemplate:
    """An `AgentTemplate` whose instruction and exemplars come from `prompts/<family>.json`."""
    data = load_exemplars(family)
    return AgentTemplate(name=name, style=style, instruction=data["instruction"], exemplars=tuple(data["exemplars"]),
                         reflection_exemplars=tuple(data.get("reflections", ())), **kwargs)
