"""Self-consistency at inference: n agent samples per task, majority vote over final answers.

Answer-type envs (HotpotQA's `Finish[...]`, GQA, ...) have a final answer to vote on: the argument
of the last action, normalised (lower case, no articles or punctuation). The winning answer's first
trajectory is returned. With a reflector, every sample is also revised once, without feedback from
the env (none exists at test time: its message is withheld), and the revisions join the vote, as in
the paper's SC + reflector variant.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rerest_agents.rollout.records import Trajectory

_CALL = re.compile(r"^\s*\w+\s*\[(.*)\]\s*$", re.S)


def final_answer(trajectory: Trajectory) -> str:
    """Normalised final answer: the bracket argument of the last action, or the whole last action."""
    if not trajectory.steps:
        return ""
    action = trajectory.steps[-1].action
    match = _CALL.match(action)
    text = (match.group(1) if match else action).lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class Vote:
    """Result of a vote on one task."""

    answer: str
    count: int
    total: int
    chosen: Trajectory


def majority_vote(samples: Sequence[Trajectory]) -> Vote:
    """The most frequent non-empty final answer (ties: the one seen first)."""
    if not samples:
        raise ValueError("majority_vote needs at least one trajectory.")
    answers = [final_answer(t) for t in samples]
    counts = Counter(a for a in answers if a)
    if not counts:
        return Vote("", 0, len(samples), samples[0])
    best = max(counts, key=lambda a: (counts[a], -answers.index(a)))
    return Vote(best, counts[best], len(samples), samples[answers.index(best)])


#: What the reflector is told at test time, where the env's verdict must not be used.
NO_FEEDBACK = "No feedback is available at test time; check the attempt yourself and improve it if needed."


def self_consistency(rollout: "Rollout", task_ids: Sequence[str], n: int, *, reflector: "Reflector | None" = None,
                     seed: int = 0, progress: bool = True) -> dict[str, Vote]:
    """Vote over n samples per task (plus one blind revision of each sample when a reflector is given)."""
    import dataclasses

    from rerest_agents.rollout.engine import sample_specs

    samples = rollout.run(sample_specs(task_ids, n, seed=seed), progress=progress, desc="sc samples")
    pool: dict[str, list[Trajectory]] = {}
    for t in samples:
        pool.setdefault(t.task_id, []).append(t)
    if reflector is not None:
        blind = [dataclasses.replace(t, success=False, feedback={"message": NO_FEEDBACK}) for t in samples]
        for revision in reflector.repair(blind, progress=progress):
            pool.setdefault(revision.task_id, []).append(revision)
    return {task: majority_vote(trajectories) for task, trajectories in pool.items()}


from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported for annotations only (avoids an import cycle)
    from rerest_agents.reflect.reflector import Reflector
    from rerest_agents.rollout.engine import Rollout
