"""Feedback for an ALFWorld episode: one weighted check (`won`), the paper's failure wording, the expert plan.

ALFWorld pays only for success, so there is a single check with weight 1. The agent-visible
message on a failure says the task was not completed in N steps and repeats the last observations
(what Reflexion and Re-ReST's reflector read); the expert plan is privileged (the ground-truth
feedback variant of the paper) and never reaches an observation.
"""

from __future__ import annotations

from collections.abc import Sequence

from rerest_envs.core import Feedback

#: How many of the latest observations a failure message repeats.
RECENT_OBSERVATIONS = 3


def check_won(won: bool) -> dict[str, object]:
    """The only scored check: the goal of the game holds."""
    explanation = "The goal holds: the task is completed." if won else "The goal does not hold yet."
    return {"score": 1.0 if won else 0.0, "weight": 1.0, "explanation": explanation}


def privileged_plan(plan: Sequence[str], source: str) -> str:
    """The expert plan as reflector-only text."""
    if not plan:
        return "No expert plan is known for this game."
    return f"Expert plan for this game ({source}, {len(plan)} actions): " + " > ".join(plan)


def episode_feedback(*, won: bool, steps: int, recent: Sequence[str], plan: Sequence[str], plan_source: str,
                     task_type: str, engine_error: str = "") -> Feedback:
    """Feedback after `steps` actions; `success` is None while the episode runs (not won, no error)."""
    details: dict[str, object] = {"won": check_won(won), "steps": steps, "task_type": task_type,
                                  "expert_plan_source": plan_source, "expert_plan_length": len(plan)}
    if won:
        message = f"Task completed in {steps} step{'s' if steps != 1 else ''}."
        success: bool | None = True
    elif engine_error:
        details["engine_error"] = engine_error
        message = f"The game engine failed, so the task was not completed in {steps} steps ({engine_error})."
        success = False
    else:
        last = " | ".join(" ".join(o.split()) for o in recent[-RECENT_OBSERVATIONS:])
        message = f"The task was not completed in {steps} step{'s' if steps != 1 else ''}. Last observations: {last}"
        success = None
    return Feedback(success=success, score=1.0 if won else 0.0, message=message,
                    privileged=privileged_plan(plan, plan_source), details=details)
