"""Parity of `protocol="paper"` with ReAct's HotpotQA loop and the official EM (issue 17).

The reference, transcribed below:
  * ysymyth/ReAct@6bdb3a1fd38b8188fc7ba4102969fe483df8fdc9 `hotpotqa.ipynb` `webthink`:
      thought, action = thought_action.strip().split(f"\\nAction {i}: ")   (stop: f"\\nObservation {i}:")
      obs, r, done, info = step(env, action[0].lower() + action[1:])
    `wikienv.py` `WikiEnv.step`: action.strip(); `search[`/`lookup[`/`finish[`/`think[` prefix and a
    final `]`, the argument between; else "Invalid action: ..."; `wrappers.py` `HotPotQAWrapper.get_reward`:
    normalize_answer(gold) == normalize_answer(answer).
  * hotpotqa/hotpot@4c0fa5ea6541391ab86170c2f9c57eb87776ad16 `hotpot_evaluate_v1.py`: `normalize_answer`,
    `exact_match_score` (ReAct's `wrappers.py` carries the same function).
  * Re-ReST: at most 6 Thought/Action steps (research/paper.md §2.1).

Cases: every gold answer of the dev records, written as agents write them (quotes straight and curly,
several lines, case, brackets, markers, prefixes, `think`), plus mutants. Under `protocol="paper"`
the env's verb, argument and reward must equal the reference's on every case.
"""

from __future__ import annotations

import dataclasses
import random
import re
import string
from collections.abc import Iterator

import gymnasium
import pytest

import rerest_envs  # noqa: F401  (registers the ids)
from rerest_envs.hotpotqa import HotpotQAEnv, load_split

TASK = "5a8b57f25542995d1e6f1371"  # Were Scott Derrickson and Ed Wood of the same nationality? (yes)


# -- the reference, verbatim where possible -------------------------------------------------------
def normalize_answer(s):  # hotpot_evaluate_v1.py
    def remove_articles(text):
        return re.sub(r'\b(a|an|the)\b', ' ', text)

    def white_space_fix(text):
        return ' '.join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return ''.join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def exact_match_score(prediction, ground_truth):  # hotpot_evaluate_v1.py
    return (normalize_answer(prediction) == normalize_answer(ground_truth))


def react_action(model_text: str) -> str:
    """webthink: the text after `Action i: ` (ReAct re-asks the model when it is missing; the env reads
    the whole text then), stopped at `\\nObservation`, then `action[0].lower() + action[1:]`."""
    match = re.search(r"Action(?: \d+)?: ?", model_text)
    action = model_text[match.end():] if match else model_text
    action = action.split("\nObservation")[0].strip()
    return action[0].lower() + action[1:] if action else action


def react_step(action: str, gold: str) -> tuple[str | None, str, float]:
    """WikiEnv.step + HotPotQAWrapper.get_reward: (verb, argument, reward)."""
    action = action.strip()
    for verb in ("search", "lookup", "finish", "think"):
        if action.startswith(f"{verb}[") and action.endswith("]"):
            argument = action[len(f"{verb}["):-1]
            return verb, argument, float(exact_match_score(argument, gold)) if verb == "finish" else 0.0
    return None, "", 0.0


# -- generated cases --------------------------------------------------------------------------------
WRAPS = ["{}", '"{}"', "“{}”", "‘{}’", "'{}'", " {} ", "{}\nand more", "{}.", "The {}", "{} (soon)", "[{}]", "{}\n"]
FORMS = ["Finish[{}]", "finish[{}]", "FINISH[{}]", "Finish({})", "Finish: {}", "Finish[{}", "Action 3: Finish[{}]",
         "Thought 3: done.\nAction 3: Finish[{}]", "Thought: let me finish (soon). Action: Finish[{}]",
         "Action: Finish[{}]\nObservation 3: Episode finished", "  Finish[{}]  ", "action: Finish[{}]",
         "Thought: ok\nAction 2: finish[{}]\nObservation 2: x\nAction 3: Search[y]"]
OTHER = ["Search[Ed Wood]", "search[Ed Wood]", "SEARCH[Ed Wood]", "Lookup[born]", "Think[hmm]", "think[hmm]",
         "Thought: let me finish (soon). Action: Search[Ed Wood]", "Action 1: Search[Ed Wood]\nObservation 1: x", "",
         "I don't know", "Search[a]b", "Search[[nested]]", "lookup[]", "finish[]", "Finish[]]"]


def cases(golds: list[str], n: int, seed: int = 17) -> Iterator[tuple[str, str]]:
    rng = random.Random(seed)
    for gold in golds:
        yield gold, f"Finish[{gold}]"
    for _ in range(n):
        gold = rng.choice(golds)
        answer = rng.choice(WRAPS).format(rng.choice([gold, gold.lower(), gold.upper(), rng.choice(golds)]))
        yield gold, rng.choice(FORMS).format(answer)
    for text in OTHER:
        yield "yes", text


@pytest.fixture(scope="module")
def golds() -> list[str]:
    return [r.answer for r in load_split("dev")][:800]


@pytest.fixture(scope="module")
def paper_env() -> HotpotQAEnv:
    return HotpotQAEnv(split="dev", protocol="paper")


def test_paper_protocol_agrees_with_react_and_hotpot_evaluate_v1(paper_env: HotpotQAEnv, golds: list[str]) -> None:
    record = paper_env.records[TASK]
    disagreements, n = [], 0
    for gold, text in cases(golds, 2_000):
        paper_env.records[TASK] = dataclasses.replace(record, answer=gold)  # the same question, this gold
        paper_env.reset(options={"task_id": TASK})
        _, reward, terminated, _, info = paper_env.step(text)
        verb, argument, expected = react_step(react_action(text), gold)
        ours = (info["action"], info["argument"], float(reward))
        n += 1
        if ours != (verb, argument, expected) or terminated != (verb == "finish"):
            disagreements.append(f"{text!r} gold {gold!r}: ours {ours}, ReAct {(verb, argument, expected)}")
    paper_env.records[TASK] = record
    assert n > 2_800 and disagreements == [], f"{len(disagreements)} of {n} differ: {disagreements[:3]}"


def test_lenient_default_differs_only_where_it_is_documented(golds: list[str]) -> None:
    """Counted, not required: the lenient default's verdicts against the official EM on the same cases."""
    env = HotpotQAEnv(split="dev")
    record = env.records[TASK]
    differ = total = 0
    for gold, text in cases(golds, 2_000):
        if "inish" not in text and "INISH" not in text:
            continue
        env.records[TASK] = dataclasses.replace(record, answer=gold)
        env.reset(options={"task_id": TASK})
        reward = env.step(text)[1]
        verb, _, expected = react_step(react_action(text), gold)
        total += 1
        differ += reward != expected
    print(f"lenient vs official EM on {total} Finish cases: {differ} differ")
    assert 0 < differ < total


def test_both_protocols_read_the_verb_after_the_action_marker() -> None:
    for protocol in ("default", "paper"):
        env = HotpotQAEnv(split="dev", protocol=protocol)
        env.reset(options={"task_id": TASK})
        _, _, terminated, _, info = env.step("Thought: let me finish (soon). Action: Search[Ed Wood]")
        assert (info["action"], info["argument"], info["page"], terminated) == ("search", "Ed Wood", "Ed Wood", False)


def test_curly_quotes_and_later_lines_count_under_paper_only() -> None:
    for protocol, rewards in (("default", (1.0, 1.0)), ("paper", (0.0, 0.0))):
        env = HotpotQAEnv(split="dev", protocol=protocol)
        env.reset(options={"task_id": TASK})
        assert env.step("Finish[“yes”]")[1] == rewards[0]
        env.reset(options={"task_id": TASK})
        assert env.step("Finish[yes\nbecause both are American]")[1] == rewards[1]
    env.reset(options={"task_id": TASK})
    assert env.step("finish[ yes ]")[1] == 1.0


def test_paper_protocol_allows_6_actions() -> None:
    env = gymnasium.make("rerest/HotpotQA-v0", split="dev", protocol="paper")
    assert env.spec is not None and env.spec.max_episode_steps == 7
    env.reset(options={"task_id": TASK})
    for step in range(1, 7):
        _, reward, terminated, truncated, info = env.step("Search[Ed Wood]")
        assert not terminated and truncated == (step == 6) and reward == 0.0
    assert info["feedback"].success is None
