"""Run directories of GQA, ALFWorld and HotpotQA for the report tests, from real episodes with scripted actions.

`build_task_run(run, task)` writes what the pipeline writes (config.yaml with the CPU preset's env
kwargs, stages.json, records/, data/, metrics.jsonl); failed samples are repaired with the gold
answer (GQA, HotpotQA) or the game's expert plan (ALFWorld), read from the failed episode's
privileged feedback as a reflector with privileged access would.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from rerest_agents.rollout import RecordWriter, StepRecord, Trajectory
from rerest_agents.rollout.envs import feedback_dict, make_env

#: task -> (env id, train kwargs, test kwargs), as in configs/<task>-cpu.yaml (ALFWorld: 6 steps, to keep failures short).
TASKS = {
    "gqa": ("rerest/GQA-v0", {"split": "sg_train"}, {"split": "sg_test"}),
    "alfworld": ("rerest/ALFWorld-v0", {"split": "valid_train", "max_episode_steps": 6}, {"split": "valid_unseen", "max_episode_steps": 6}),
    "hotpotqa": ("rerest/HotpotQA-v0", {"split": "train"}, {"split": "eval500"}),
}


def play(env, env_id: str, task_id: str, actions: list[str], key: str, **fields) -> Trajectory:
    """One real episode: the actions in order until the env ends it, recorded as the rollout engine records it."""
    first, _ = env.reset(options={"task_id": task_id})
    steps, info, reward, terminated, truncated = [], {}, 0.0, False, False
    for action in actions:
        observation, reward, terminated, truncated, info = env.step(action)
        steps.append(StepRecord(model_text=action, action=action, observation=observation, reward=float(reward)))
        if terminated or truncated:
            break
    feedback = feedback_dict(info, float(reward), terminated)
    return Trajectory(key=key, env_id=env_id, task_id=task_id, observation=first, steps=steps, feedback=feedback,
                      success=bool(feedback["success"]), score=float(feedback["score"]), model="gemma-3-270m", seed=0,
                      truncated=bool(truncated and not terminated), **fields)


def _gqa_program(env, task_id: str, answer: str) -> str:
    question = env.unwrapped.questions[task_id]
    names = [o["name"] for o in (question.graph or {}).get("objects", {}).values()][:2] or ["thing"]
    finds = "\n".join(f"    found_{i} = image_patch.find({name!r})" for i, name in enumerate(names))
    return f"```python\ndef execute_command(image):\n    image_patch = ImagePatch(image)\n{finds}\n    return {answer!r}\n```"


def _first_actions(task: str, env, task_id: str, observation: str) -> list[str]:
    """A wrong attempt: GQA and HotpotQA answer 'no'; ALFWorld walks the first receptacles until the step limit."""
    if task == "gqa":
        return [_gqa_program(env, task_id, "no")]
    if task == "hotpotqa":
        return ["Search[" + observation.split("Question:", 1)[-1].split()[0] + "]", "Finish[no]"]
    places = re.findall(r"an? ([a-z]+ \d+)", observation.split("Your task", 1)[0])
    return [f"go to {p}" for p in places[:8]]


def _repair_actions(task: str, env, failed: Trajectory) -> list[str]:
    privileged = failed.feedback.get("privileged", "")
    if task == "alfworld":
        plan = privileged.split(":", 1)[1] if ":" in privileged else ""
        return [a.strip() for a in plan.split(">") if a.strip()]
    gold = re.search(r"Gold answer: (.+)", privileged)
    answer = gold.group(1).strip() if gold else failed.feedback.get("details", {}).get("gold", "yes")
    if task == "gqa":
        return [_gqa_program(env, failed.task_id, str(answer))]
    return [f"Finish[{answer}]"]


def build_task_run(run: Path, task: str, *, num_tasks: int = 2) -> dict:
    """A run directory of `task` (gqa, alfworld, hotpotqa): samples fail, repairs use privileged hints, evals 2 tasks."""
    env_id, train_kwargs, test_kwargs = TASKS[task]
    (run / "records").mkdir(parents=True)
    (run / "config.yaml").write_text(f"env_id: {env_id}\ntrain_env_kwargs: {json.dumps(train_kwargs)}\n"
                                     f"test_env_kwargs: {json.dumps(test_kwargs)}\nmodel:\n  name: gemma-3-270m\n")
    train = make_env(env_id, **train_kwargs)
    sampled, repaired = [], []
    for task_id in train.unwrapped.task_ids[:num_tasks]:
        observation, _ = train.reset(options={"task_id": task_id})
        sampled.append(play(train, env_id, task_id, _first_actions(task, train, task_id, observation), f"sampled/{task_id}/0"))
    for failed in sampled:
        repaired.append(play(train, env_id, failed.task_id, _repair_actions(task, train, failed), f"repaired/{failed.key}",
                             origin="repaired", parent=failed.key, reflection=f"I should use what the feedback says about {failed.task_id}."))
    train.close()
    for name, records in (("sampled", sampled), ("repaired", repaired)):
        with RecordWriter(run / "records" / f"{name}.jsonl") as writer:
            writer.write_all(records)
    test = make_env(env_id, **test_kwargs)
    evals = []
    for task_id in test.unwrapped.task_ids[:num_tasks]:
        observation, _ = test.reset(options={"task_id": task_id})
        evals.append(play(test, env_id, task_id, _first_actions(task, test, task_id, observation), f"sampled/{task_id}/0"))
    test.close()
    for variant in ("base", "selftrain", "rerest"):
        with RecordWriter(run / "records" / f"eval-{variant}.jsonl") as writer:
            writer.write_all(evals)
    names = ["sample", "reflect", "build_data", "train_reflector", "train_agent_selftrain", "train_agent_rerest", "eval_base",
             "eval_selftrain", "eval_rerest"]
    stages = {name: {"status": "done", "started": f"2026-01-01T00:{i:02d}:00", "finished": f"2026-01-01T00:{i:02d}:30", "seconds": 30.0}
              for i, name in enumerate(names)}
    stages["train_agent_selftrain"].update(status="skipped", seconds=0.0,
                                           note="no training data in agent_dm.jsonl: the variant uses the untrained model")
    (run / "stages.json").write_text(json.dumps(stages))
    return {"sampled": sampled, "repaired": repaired, "evals": evals}
