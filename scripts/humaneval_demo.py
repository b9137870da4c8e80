"""Play `rerest/HumanEval-v0` twice, with the reference solution and with a broken one, and print
what the environment says: the feedback a Re-ReST reflector learns from.

    python scripts/humaneval_demo.py                      # HumanEval/0, process sandbox
    python scripts/humaneval_demo.py --task HumanEval/12 --sandbox docker

This is the main job until the Re-ReST pipeline lands; it needs no GPU, network or data download.
"""

from __future__ import annotations

import argparse
import ast
import textwrap

import gymnasium

import rerest_envs  # noqa: F401  (registers the rerest/ ids)


def break_solution(reference: str, entry_point: str) -> str:
    """A plausible wrong answer: the reference with its last `return` returning the wrong thing."""
    tree = ast.parse(reference)
    func = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == entry_point)
    returns = [n for n in ast.walk(func) if isinstance(n, ast.Return) and n.value is not None]
    returns[-1].value = ast.Constant(None) if len(returns) == 1 else returns[0].value
    return ast.unparse(tree)


def play(env: gymnasium.Env, task_id: str, answer: str, title: str) -> None:
    env.reset(options={"task_id": task_id})
    _, reward, terminated, truncated, info = env.step(answer)
    feedback = info["feedback"]
    print(f"\n=== {title} ===")
    print(f"reward={reward}  success={feedback.success}  score={feedback.score:.2f}  terminated={terminated}")
    print("feedback.message (what the agent sees):")
    print(textwrap.indent(feedback.message, "  "))
    hidden = feedback.privileged.split("\n")[0]
    print(f"feedback.privileged (reflector only): {len(feedback.privileged)} characters, starting '{hidden}'")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", default="HumanEval/0", help="HumanEval task id")
    parser.add_argument("--sandbox", default="process", choices=["process", "docker"], help="execution backend")
    args = parser.parse_args()

    env = gymnasium.make("rerest/HumanEval-v0", sandbox=args.sandbox)
    observation, info = env.reset(options={"task_id": args.task})
    print(f"=== observation of {info['task_id']} ===\n{observation}")
    task = env.unwrapped.tasks[args.task]
    play(env, args.task, f"```python\n{task.reference}\n```", "reference solution")
    play(env, args.task, f"```python\n{break_solution(task.reference, task.entry_point)}\n```", "broken solution")
    env.close()


if __name__ == "__main__":
    main()
