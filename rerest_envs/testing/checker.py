"""`check_text_env`: hostile text, timing and determinism checks for any text env (ours or a user's).

Gymnasium's `check_env` asks whether an env keeps the API; this asks whether it survives the agents
that RL and self-training produce: any string of any size must get an answer, in time linear in its
length, with an observation inside the observation space that encodes as UTF-8, a `Feedback` that
survives its JSON round trip, and the same answers again under the same seed (DESIGN §5, "Hostile
input"). See `check_text_env` for the checks and how time is judged without absolute limits.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Sequence
from typing import Any

import gymnasium

from rerest_envs.core.text_env import TextEnv
from rerest_envs.testing.inputs import EXAMPLE_ACTIONS, GENERIC_EXAMPLES, Sized, adversarial_actions, fuzz_actions
from rerest_envs.testing.judge import feedback_key, observation_problems, step_problems
from rerest_envs.testing.report import CheckReport, CheckResult, _ms

#: Below this many characters inputs are not worth timing: a ladder starts here.
SMALLEST_RUNG = 1_000
#: A step over its time bound (or a growth over its limit) is re-timed unless it took more than a second
#: and more than this many times the bound.
RETIME_BELOW = 3.0
#: After this many steps over their time bound or growth, ladders stop at their shortest rung (a slow env is slow
#: on every long input; waiting for each again tells nothing new).
MAX_SLOW_STEPS = 5
#: Resets faster than this are made before every rung of a ladder, so that all rungs are timed at the same
#: step of an episode (a two-step env reads its first and second action differently).
CHEAP_RESET_S = 0.05
#: A step time below this counts as this much when growth is measured (timer noise on fast steps).
NOISE_FLOOR_S = 0.005


def check_text_env(env: gymnasium.Env | str, *, env_kwargs: dict[str, Any] | None = None, examples: Sequence[str] | None = None,
                   size: int = 100_000, seed: int = 0, fuzz: int = 40, reset_options: dict[str, Any] | None = None,
                   max_growth: float = 4.0, step_factor: float = 20.0, char_factor: float = 1000.0, min_bound_s: float = 0.5,
                   require_feedback: bool | None = None, twin: bool = True, raise_on_failure: bool = True) -> CheckReport:
    """Send an env hostile text and check every answer; return a report, or raise naming each failure.

    The checks, in order:

    - **reset**: `reset(seed=seed)` raises nothing and its observation is a `str` in the space and valid UTF-8.
    - **fixed inputs**: short hostile strings (empty, lone surrogates, NUL, format strings, a fake
      observation) and each example cut, upper-cased, with odd whitespace or a surrogate inside.
    - **sized inputs**: about 80 inputs that take any length (whitespace runs of every kind, brackets
      nested and unbalanced, digit runs, surrogates, control characters, many lines, many boxes, each
      example repeated, nested or buried in whitespace), each sent at 1,000 characters and then ten
      times longer up to `size`.
    - **linear time**: along each of those ladders, a step on ten times the input may take at most
      `max_growth` x 10 times as long (40x by default; a linear parser takes ~10x, a quadratic one
      ~100x). The ladder stops at the first rung that fails, so a quadratic env costs one slow step
      per input, not an hour.
    - **grammar fuzz**: `fuzz` mutations of the env's own example actions (seeded).
    - **determinism**: the same actions after `reset(seed=...)` give the same observations, rewards,
      end flags and feedback (success, score, message, privileged; `details` may hold timings) on the
      same instance twice and, with `twin=True`, on a second instance built from the env's spec.

    Every step of every check must raise nothing, return an observation that is a `str` inside
    `env.observation_space` and valid UTF-8, a finite reward, bool end flags, an `info` dict whose
    strings are valid UTF-8 and whose `info["feedback"]` (a `Feedback` or a dict) survives its JSON round
    trip (`step_problems`), and take at most `max(min_bound_s, step_factor x B + char_factor x C x
    len(action))`, where B is the median step time of the examples (sent among the fixed inputs) and C
    the time a Python loop takes per character on this machine, both measured during the check: the
    bound is linear in the input and scales with the machine's speed, so a loaded machine does not fail
    a good env. A step over its bound, or a ladder
    over its growth, is timed twice more (after a fresh reset) and the best time counts.

    Steps run in the calling thread: a step that never returns hangs the check (run it under
    `pytest-timeout`; a run bounds steps with `executor.step_timeout`).

    Args:
        env: An env, or a registered id (built with `gymnasium.make(env, **env_kwargs)` and closed after).
        env_kwargs: `gymnasium.make` kwargs when `env` is an id.
        examples: Well-formed actions, the seeds of the fuzzer and of the example-based inputs.
            Default: the examples of a `rerest/` id, else the first five `info["admissible_actions"]`
            of the reset, else a few generic lines.
        size: The longest input, in characters (`1_000_000` reproduces issue 16's megabyte inputs).
        seed: Seed of resets (episode i resets with `seed + i`), of the fuzzer and of the random inputs.
        fuzz: How many fuzzed actions.
        reset_options: `options` of every reset (e.g. `{"task_id": ...}`).
        max_growth: Allowed step-time growth per unit of input growth (see linear time).
        step_factor: Multiple of the median step time every step may take.
        char_factor: Python-loop passes over its input every step may take (1,000: a code env
            compiles and runs a program once per test, ~10 us per character on a loaded 2-core machine;
            superlinear work is caught by the growth check, which does not depend on this).
        min_bound_s: No step under this many seconds fails the time bound (timer and scheduler noise).
        require_feedback: Whether `info["feedback"]` must exist; None: for `rerest_envs.TextEnv`s only.
        twin: Also replay on a second instance built from the env's spec or id.
        raise_on_failure: Raise `EnvCheckFailed` (an AssertionError) when a check fails.

    Returns:
        The `CheckReport` (`print(report)` shows one line per check).

    Raises:
        EnvCheckFailed: With `raise_on_failure`, naming each failed check with its inputs.
    """
    start = time.perf_counter()
    owned = isinstance(env, str)
    env_id = env if isinstance(env, str) else (env.spec.id if env.spec is not None else type(env.unwrapped).__name__)
    made = gymnasium.make(env, **(env_kwargs or {})) if isinstance(env, str) else env
    try:
        if require_feedback is None:
            require_feedback = isinstance(made.unwrapped, TextEnv)
        runner = _Runner(made, seed=seed, reset_options=reset_options, require_feedback=require_feedback, step_factor=step_factor,
                         char_factor=char_factor, min_bound_s=min_bound_s)
        report = CheckReport(env_id, size=size)
        reset_check = runner.check_reset()
        report.checks.append(reset_check)
        if reset_check.passed:
            chosen = list(examples) if examples is not None else _examples(env_id, runner.first_info)
            sized, fixed = adversarial_actions(chosen, seed=seed)
            report.checks.append(runner.check_fixed(fixed, chosen))
            report.checks += runner.check_sized(sized, _rungs(size), max_growth, prefix=chosen[0] if chosen else "look")
            report.checks.append(runner.check_each("grammar fuzz", fuzz_actions(chosen, fuzz, seed=seed, max_len=min(size, 20_000))))
            replay = [(f"`{k}`", v) for k, v in list(fixed.items())[:6]] + fuzz_actions(chosen, 6, seed=seed + 1, max_len=1_000) \
                + [(f"`{s.label}`", s.make(SMALLEST_RUNG)) for s in sized[:3]] + [(f"`example {i}`", e) for i, e in enumerate(chosen)]
            report.checks.append(runner.check_determinism(replay, _twin(env, env_kwargs, made) if twin else None))
        report.exceptions = runner.exceptions
    finally:
        if owned:
            made.close()
    report.seconds = time.perf_counter() - start
    return report.raise_if_failed() if raise_on_failure else report


class _Runner:
    """Steps one env and judges every step (see `check_text_env`)."""

    def __init__(self, env: gymnasium.Env, *, seed: int, reset_options: dict[str, Any] | None, require_feedback: bool,
                 step_factor: float, char_factor: float, min_bound_s: float) -> None:
        self.env, self.seed, self.reset_options, self.require_feedback = env, seed, reset_options, require_feedback
        self.step_factor, self.char_factor, self.min_bound_s = step_factor, char_factor, min_bound_s
        self.episodes, self.done, self.exceptions, self.slow_steps = 0, True, 0, 0
        self.first_info: dict[str, Any] = {}
        self.baseline_s = self.reset_s = 0.0
        #: Where sized inputs are sent: step 0 or 1 of a fresh episode (after `prefix`), None: the running episode.
        self.position: int | None = None
        self.prefix = ""
        self.per_char_s = _per_char_seconds()

    # -- checks ---------------------------------------------------------------------------------
    def check_reset(self) -> CheckResult:
        check = CheckResult("reset")
        if self.reset(check) is not None:
            self.done = True  # the checks below start from their own resets
            check.notes.append(f"reset(seed={self.seed}) took {_ms(self.reset_s)}")
        return check

    def check_fixed(self, fixed: dict[str, str], examples: Sequence[str]) -> CheckResult:
        check = CheckResult("fixed inputs")
        times = [(label, action, t) for label, action in fixed.items() if (t := self.step(action, _label(label, action), check)) is not None]
        # The env's typical work: well-formed actions (a code env runs them, and rejects most others at once).
        typical = [t for _, action, t in times if action in examples] or [t for *_, t in times]
        self.baseline_s = statistics.median(typical) if typical else 0.0
        check.notes.append(f"median step on the examples {self.baseline_s * 1000:.2f} ms; a step of n characters may take "
                           f"max({self.min_bound_s:g} s, {self.bound(0) * 1000:.1f} ms + {self.char_factor * self.per_char_s * 1e6:.2f} ms per 1,000)")
        for label, action, t in times:
            self.judge_time(action, _label(label, action), t, check)
        return check

    def check_each(self, name: str, actions: Sequence[tuple[str, str]]) -> CheckResult:
        check = CheckResult(name)
        for label, action in actions:
            label = _label(label, action)
            if (t := self.step(action, label, check)) is not None:
                self.judge_time(action, label, t, check)
        return check

    def check_sized(self, sized: Sequence[Sized], rungs: Sequence[int], max_growth: float, prefix: str) -> list[CheckResult]:
        check, linear = CheckResult("sized inputs"), CheckResult("linear time")
        if self.reset_s > CHEAP_RESET_S:
            positions: tuple[int | None, ...] = (None,)
            check.notes.append(f"inputs sent one after another in running episodes (a reset takes {_ms(self.reset_s)})")
        else:  # every rung at the same step of a fresh episode: the first, and the second where there is one
            self.prefix, self.position = prefix, 1
            positions = (0, 1) if self.prepare(check) else (0,)
            check.notes.append("each input sent at the first step of a fresh episode" + (
                f", and again at the second step (after {_short(prefix)})" if len(positions) == 2 else ""))
        worst = (0.0, "")
        for position in positions:
            self.position = position
            for item in sized:
                worst = max(worst, self.ladder(item, rungs, max_growth, check, linear, position))
        self.position = None
        if self.slow_steps >= MAX_SLOW_STEPS:
            check.notes.append(f"after {MAX_SLOW_STEPS} slow steps (time bound or growth), the other inputs were sent at "
                               f"{rungs[0]:,} characters only")
        if worst[0] * 10 >= 1 and worst[1]:
            linear.notes.append(f"worst growth: {worst[1]}")
        return [check, linear]

    def ladder(self, item: Sized, rungs: Sequence[int], max_growth: float, check: CheckResult, linear: CheckResult,
               position: int | None) -> tuple[float, str]:
        """`item` at each length of `rungs`, each step timed and judged; returns the worst growth seen."""
        worst, previous = (0.0, ""), None
        where = "" if not position else ", second step"
        for n in rungs:
            if previous is not None and self.slow_steps >= MAX_SLOW_STEPS:
                break
            action = item.make(n)
            label = _label(item.label, action)[:-1] + f"{where})"
            if not self.prepare(check):
                break
            t = self.step(action, label, check)
            if t is None or not self.judge_time(action, label, t, check):
                break  # an exception, a wrong answer or a slow step: longer inputs would only repeat it
            if previous is not None:
                small_action, small_label, small_t = previous
                growth = len(action) / max(1, len(small_action))
                ratio = t / max(small_t, NOISE_FLOOR_S)
                if ratio > max_growth * growth and (t < 1.0 or ratio < RETIME_BELOW * max_growth * growth):  # confirm: best of 3 of both
                    small_t = min(small_t, self.retime(small_action, small_label, linear))
                    t = min(t, self.retime(action, label, linear))
                    ratio = t / max(small_t, NOISE_FLOOR_S)
                said = f"{label} took {ratio:.1f}x as long as {len(small_action):,} characters ({_ms(t)} vs {_ms(small_t)})"
                worst = max(worst, (ratio / growth, said))
                if ratio > max_growth * growth:
                    linear.failures.append(f"{said}; at most {max_growth * growth:.0f}x allowed: superlinear in the input")
                    self.slow_steps += 1
                    break
            previous = (action, label, t)
        return worst

    def prepare(self, check: CheckResult) -> bool:
        """Bring the env to `self.position` (None: wherever the running episode is); False if it cannot get there."""
        if self.position is None:
            return True
        self.done = True
        if self.position == 0:
            return True
        return self.step(self.prefix, _label("prefix", self.prefix), check) is not None and not self.done

    def check_determinism(self, actions: Sequence[tuple[str, str]], twin: gymnasium.Env | str | None) -> CheckResult:
        check = CheckResult("determinism")
        first = self.trace(self.env, actions, check, report_exceptions=True)
        second = self.trace(self.env, actions, check)
        _compare(first, second, "the same instance replayed", check)
        if isinstance(twin, str):
            check.notes.append(twin)
        elif twin is not None:
            try:
                _compare(first, self.trace(twin, actions, check), "a second instance", check)
            finally:
                twin.close()
        return check

    # -- steps ----------------------------------------------------------------------------------
    def reset(self, check: CheckResult) -> str | None:
        """A fresh episode (seed + episode number); its observation, or None after recording what failed."""
        try:
            start = time.perf_counter()
            obs, info = self.env.reset(seed=self.seed + self.episodes, options=self.reset_options)
            self.reset_s = time.perf_counter() - start if self.episodes == 0 else min(self.reset_s, time.perf_counter() - start)
        except Exception as exc:
            self.exceptions += 1
            check.failures.append(f"reset(seed={self.seed + self.episodes}) raised {_exc(exc)}")
            return None
        if self.episodes == 0:
            self.first_info = info if isinstance(info, dict) else {}
        self.episodes += 1
        self.done = False
        problems = observation_problems(self.env, obs)
        if not isinstance(info, dict):
            problems.append(f"info is a {type(info).__name__}, not a dict")
        if problems:
            check.failures.append(f"reset(seed={self.seed + self.episodes - 1}): {'; '.join(problems)}")
            return None
        return obs

    def step(self, action: str, label: str, check: CheckResult) -> float | None:
        """One timed step (after a reset when the episode ended); its seconds, or None after a failure."""
        if self.done and self.reset(check) is None:
            return None
        collecting = gc.isenabled()
        gc.disable()  # as timeit does: a collection of the whole process is no step's cost
        try:
            start = time.perf_counter()
            result = self.env.step(action)
            seconds = time.perf_counter() - start
        except Exception as exc:
            self.exceptions += 1
            self.done = True
            check.steps += 1
            check.failures.append(f"{label}: raised {_exc(exc)}")
            return None
        finally:
            if collecting:
                gc.enable()
        check.timed(seconds, label)
        problems = step_problems(self.env, result, self.require_feedback)
        if problems:
            self.done = True
            check.failures.append(f"{label}: {'; '.join(problems)}")
            return None
        self.done = bool(result[2] or result[3])
        return seconds

    def bound(self, n: int) -> float:
        """The seconds a step on `n` characters may take, before `min_bound_s` applies."""
        return self.step_factor * self.baseline_s + self.char_factor * self.per_char_s * n

    def judge_time(self, action: str, label: str, seconds: float, check: CheckResult) -> bool:
        """Whether a step of `seconds` is within its bound (re-timed twice before it fails)."""
        limit = max(self.min_bound_s, self.bound(len(action)))
        if seconds <= limit:
            return True
        best = "once"
        if seconds < max(1.0, RETIME_BELOW * limit):  # far over the bound, no noise explains it: do not wait for it twice more
            self.per_char_s = max(self.per_char_s, _per_char_seconds())  # the machine may have slowed down since
            seconds, best = min(seconds, self.retime(action, label, check)), "best of 3"
            limit = max(self.min_bound_s, self.bound(len(action)))
            if seconds <= limit:
                return True
        check.failures.append(f"{label}: took {_ms(seconds)} ({best}), over its bound of {_ms(limit)}")
        self.slow_steps += 1
        return False

    def retime(self, action: str, label: str, check: CheckResult, tries: int = 2) -> float:
        """The best time of `tries` more steps of `action`, each after a fresh reset (at the same `position`)."""
        best = math.inf
        for _ in range(tries):
            if self.position is None:
                self.done = True
            if not self.prepare(check):
                break
            t = self.step(action, f"{label} (re-timed)", check)
            best = min(best, math.inf if t is None else t)
        return best

    def trace(self, env: gymnasium.Env, actions: Sequence[tuple[str, str]], check: CheckResult,
              report_exceptions: bool = False) -> list[tuple[Any, ...]]:
        """What the env answered to `actions` from episode seeds `seed, seed + 1, ...` (exceptions included)."""
        out: list[tuple[Any, ...]] = []
        done, episode = True, 0
        for label, action in actions:
            try:
                if done:
                    obs, info = env.reset(seed=self.seed + episode, options=self.reset_options)
                    out.append(("reset", f"reset(seed={self.seed + episode})", obs, (info or {}).get("task_id")))
                    episode += 1
                start = time.perf_counter()
                obs, reward, terminated, truncated, info = env.step(action)
                check.timed(time.perf_counter() - start, label)
                done = bool(terminated or truncated)
                out.append(("step", label, obs, float(reward), bool(terminated), bool(truncated), feedback_key(info)))
            except Exception as exc:
                out.append(("raised", label, _exc(exc)))
                done = True
                if report_exceptions:
                    self.exceptions += 1
                    check.failures.append(f"{label}: raised {_exc(exc)}")
        return out


def _compare(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]], what: str, check: CheckResult) -> None:
    names = {"reset": ("what", "input", "observation", "task_id"),
             "step": ("what", "input", "observation", "reward", "terminated", "truncated", "feedback"),
             "raised": ("what", "input", "exception")}
    for x, y in zip(a, b):
        if x != y:
            if x[0] != y[0]:
                check.failures.append(f"{what}: at {x[1]}, one run got {x[0]} ({_short(x[-1])}), the other {y[0]} ({_short(y[-1])})")
            else:
                field = next(i for i in range(len(x)) if x[i] != y[i])
                check.failures.append(f"{what}: at {x[1]}, the {names[x[0]][field]} differs: {_short(x[field])} vs {_short(y[field])}")
            return
    if len(a) != len(b):
        check.failures.append(f"{what}: {len(a)} vs {len(b)} events")


# -- helpers --------------------------------------------------------------------------------------

def _examples(env_id: str, info: dict[str, Any]) -> list[str]:
    if env_id in EXAMPLE_ACTIONS:
        return list(EXAMPLE_ACTIONS[env_id])
    admissible = info.get("admissible_actions")
    if isinstance(admissible, (list, tuple)) and admissible:
        return [str(a) for a in admissible[:5]]
    return list(GENERIC_EXAMPLES)


def _twin(env: gymnasium.Env | str, env_kwargs: dict[str, Any] | None, made: gymnasium.Env) -> gymnasium.Env | str:
    """A second instance, or a sentence saying why there is none."""
    try:
        if isinstance(env, str):
            return gymnasium.make(env, **(env_kwargs or {}))
        if made.spec is None:
            return "no second instance: the env has no spec (replayed on the same instance only)"
        return gymnasium.make(made.spec)
    except Exception as exc:
        return f"no second instance: gymnasium.make raised {_exc(exc)} (replayed on the same instance only)"


def _rungs(size: int) -> list[int]:
    """Input lengths of a ladder: `size`, `size / 10`, ... down to SMALLEST_RUNG, shortest first."""
    out = [max(size, 1)]
    while out[-1] // 10 >= SMALLEST_RUNG:
        out.append(out[-1] // 10)
    return out[::-1]


def _per_char_seconds() -> float:
    """Seconds per character of a plain Python loop over text on this machine now (best of 3)."""
    text = "ab c\n" * 20_000
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        spaces = 0
        for ch in text:
            if ch.isspace():
                spaces += 1
        best = min(best, time.perf_counter() - start)
    return best / len(text)


def _label(label: str, action: str) -> str:
    label = label if label.startswith("`") or label.startswith("fuzz") else f"`{label}`"
    return f"{label} ({len(action):,} chars)"


def _exc(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
