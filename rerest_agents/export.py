"""Training sets from trajectory records, in the formats TRL reads.

* Agent SFT (D_M + D_R): `{"prompt", "completion"}` for single-step envs (TRL masks the prompt);
  for multi-step envs the completion interleaves the model's turns with env observations, so the
  record also carries `segments` ([{"text", "loss"}]) saying which spans are the model's own tokens
  (loss) and which are observations (masked). Repairs are exported with the *plain* agent prompt:
  the agent learns to produce the repaired answer without being shown the reflection.
* Reflector SFT (D_R^R and D_M^R of the paper): the reflection prompt -> the reflection, and the
  repair prompt (failure + reflection) -> the repaired turns.
* DPO: `{"prompt", "chosen", "rejected"}` pairs on the same task: a success (repaired or sampled)
  against a failure (the repair's own parent first).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rerest_agents.agent import AgentTemplate
from rerest_agents.reflect.reflector import ReflectConfig, reflection_prompt, repair_context
from rerest_agents.rollout.records import Trajectory

#: Reflection used for D_M^R pairs (a failed and a successful sample of the same task), which come
#: from the agent's own samples and so have no reflection text of their own.
PAIR_REFLECTION = "The previous attempt failed the checks in the feedback; I will correct it."


def canonical_text(trajectory: Trajectory) -> str | None:
    """The single-step answer as the env read it (`details["canonical_action"]`), None where not given."""
    canonical = ((trajectory.feedback or {}).get("details") or {}).get("canonical_action")
    return canonical if isinstance(canonical, str) and canonical.strip() else None


def _segments(trajectory: Trajectory, template: AgentTemplate, canonical: bool = False) -> list[dict[str, Any]]:
    if template.style == "single":
        step = trajectory.steps[0]
        suffix = template.answer_suffix if step.action.endswith(template.answer_suffix) and template.answer_suffix else ""
        text = step.model_text
        if canonical and (read := canonical_text(trajectory)) is not None:
            text = text[:len(text) - len(text.lstrip())] + read  # keep the leading space the prompt expects
        return [{"text": text + suffix, "loss": True}]
    segments: list[dict[str, Any]] = []
    for i, step in enumerate(trajectory.steps, start=1):
        segments.append({"text": " " + step.model_text.strip(), "loss": True})
        if i < len(trajectory.steps):
            segments.append({"text": f"\nObservation {i}: {step.observation.strip()}\nThought {i + 1}:", "loss": False})
    return segments


def completion_record(prompt: str, trajectory: Trajectory, template: AgentTemplate, *, canonical: bool = False) -> dict[str, Any]:
    """`{"prompt", "completion", "segments"}` for one trajectory after `prompt` (`canonical`: as the env read it)."""
    segments = _segments(trajectory, template, canonical)
    return {"prompt": prompt, "completion": "".join(s["text"] for s in segments), "segments": segments,
            "task_id": trajectory.task_id, "origin": trajectory.origin, "key": trajectory.key}


def agent_prompt(trajectory: Trajectory, template: AgentTemplate, *, few_shot: bool = False) -> str:
    return template.prompt(trajectory.observation, few_shot=few_shot)


def agent_sft(trajectories: Iterable[Trajectory], template: AgentTemplate, *, few_shot: bool = False,
              canonical: bool = False) -> list[dict[str, Any]]:
    """SFT records of every successful trajectory (D_M: sampled, D_R: repaired); `canonical`: each
    answer as the env read it, where the env says (see `canonical_text`)."""
    return [completion_record(agent_prompt(t, template, few_shot=few_shot), t, template, canonical=canonical)
            for t in trajectories if t.success and t.steps and t.error is None]


def reflector_sft(trajectories: Sequence[Trajectory], template: AgentTemplate, config: ReflectConfig | None = None, *,
                  few_shot: bool = False) -> list[dict[str, Any]]:
    """Reflector training records: verified repairs (with their reflection) and failed->successful sample pairs."""
    config = config or ReflectConfig()
    by_key = {t.key: t for t in trajectories}
    records: list[dict[str, Any]] = []
    for repair in trajectories:
        parent = by_key.get(repair.parent or "")
        if repair.origin != "repaired" or not repair.success or parent is None:
            continue
        reflection = (repair.reflection or "").strip()
        if not config.direct:  # a direct repair has no reflection to learn
            records.append({"prompt": reflection_prompt(parent, template, config), "completion": " " + reflection,
                            "segments": [{"text": " " + reflection, "loss": True}], "kind": "reflection", "key": repair.key})
        context = repair_context(parent, template, config, reflection)
        records.append({**completion_record(template.prompt(repair.observation, few_shot=few_shot, context=context), repair, template),
                        "kind": "repair"})
    sampled = defaultdict(list)
    for t in trajectories:
        if t.origin == "sampled" and t.error is None and t.steps:
            sampled[t.task_id].append(t)
    for task_trajectories in sampled.values():
        wins = [t for t in task_trajectories if t.success]
        for i, loss in enumerate(t for t in task_trajectories if not t.success):
            if not wins:
                break
            win = wins[i % len(wins)]
            context = repair_context(loss, template, config, PAIR_REFLECTION)
            records.append({**completion_record(template.prompt(win.observation, few_shot=few_shot, context=context), win, template),
                            "kind": "pair", "rejected_key": loss.key})
    return records


def dpo_pairs(trajectories: Sequence[Trajectory], template: AgentTemplate, *, few_shot: bool = False,
              canonical: bool = False) -> list[dict[str, Any]]:
    """`{"prompt", "chosen", "rejected"}` per failed trajectory that has a successful sibling on its task."""
    by_task: dict[str, list[Trajectory]] = defaultdict(list)
    for t in trajectories:
        if t.steps and t.error is None:
            by_task[t.task_id].append(t)
    pairs = []
    for task_trajectories in by_task.values():
        wins = [t for t in task_trajectories if t.success]
        losses = [t for t in task_trajectories if not t.success]
        if not wins:
            continue
        repairs_of = {t.parent: t for t in wins if t.origin == "repaired"}
        for i, loss in enumerate(losses):
            win = repairs_of.get(loss.key) or wins[i % len(wins)]
            prompt = agent_prompt(loss, template, few_shot=few_shot)
            pairs.append({"prompt": prompt, "chosen": completion_record(prompt, win, template, canonical=canonical)["completion"],
                          "rejected": completion_record(prompt, loss, template)["completion"],
                          "task_id": loss.task_id, "chosen_key": win.key, "rejected_key": loss.key})
    return pairs


def write_jsonl(path: str | os.PathLike[str], records: Iterable[dict[str, Any]]) -> Path:
    """Write records as JSON lines (atomically: a temp file renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path
