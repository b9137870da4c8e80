"""`rerest/ALFWorld-v0`: ALFWorld household tasks in text, on the real alfworld/TextWorld PDDL engine."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any, Literal, SupportsFloat

from rerest_envs.alfworld.engine import EngineState, GameEngine, GameError
from rerest_envs.alfworld.expert import ExpertPlanError, expert_plan
from rerest_envs.alfworld.feedback import episode_feedback
from rerest_envs.alfworld.games import GameRecord, find_games
from rerest_envs.alfworld.grammar import task_sentence, to_old_grammar
from rerest_envs.alfworld.planner import PlanJob
from rerest_envs.alfworld.tasks import short_name
from rerest_envs.core import Feedback, TextEnv

THINK_PREFIX = "think:"
THINK_REPLY = "OK."
PROTOCOLS = ("default", "paper")
#: Actions per episode under `protocol="paper"`: ReAct's `for i in range(1, 50)`, Reflexion's `cur_step < 49`.
PAPER_MAX_STEPS = 49
#: Seconds the planner fallback may take (it runs in a child started at reset; feedback waits for it).
PLANNER_TIMEOUT = 30.0


def normalize_command(action: str) -> str:
    """What the engine is asked: case and spacing do not matter (`Go to  Desk 1` is `go to desk 1`)."""
    return " ".join(action.split()).lower()


def react_observation(observation: str) -> str:
    """ReAct's `process_ob` (alfworld.ipynb): drop a leading `You arrive at loc N. `."""
    if observation.startswith("You arrive at loc "):
        observation = observation[observation.find(". ") + 2:]
    return observation


def react_first_observation(observation: str) -> str:
    """ReAct's reset: `'\\n'.join(ob.split('\\n\\n')[1:])`, which drops the welcome banner."""
    return "\n".join(observation.split("\n\n")[1:])


class ALFWorldEnv(TextEnv):
    """ALFWorld (Shridhar et al., 2021) text games, played on alfworld's TextWorld PDDL engine.

    ## Description
    The agent is placed in a room (kitchen, living room, bedroom, bathroom) and given a household
    task in one of six types: `pick_and_place` (put some X in/on Y), `clean` (put a clean X in Y),
    `heat`, `cool`, `look_at_obj_in_light` (examine X with the desklamp) and `pick_two` (put two X in
    Y). It acts with text commands; the game is the official `json_2.1.1` release of ALFWorld (the
    one ReAct, Reflexion and Re-ReST evaluate on: 134 `valid_unseen` games), or games written by
    `rerest_envs.alfworld.generator`. Each env keeps one engine (its own fast-downward library) and
    one loaded game; resetting the same game again skips the PDDL translation.

    Two protocols (`protocol=`), side by side. `"paper"` follows ReAct's `alfworld.ipynb`
    (`ysymyth/ReAct@6bdb3a1`: `alfworld_run`, `process_ob`, the reset line) and Reflexion's
    `alfworld_runs/alfworld_trial.py` (`noahshinn/reflexion@6500135`), with alfworld's own command
    handling (TextWorld 1.7 `PddlEnv.step`: the command stripped, then matched exactly);
    `tests/envs/alfworld/test_parity_react.py` checks it against those rules on the real engine:

    | | `"default"` (default) | `"paper"` |
    |---|---|---|
    | command case, inner spacing | ignored: `GO TO  Bed 1` moves | exact: `GO TO BED 1` -> `Nothing happens.` |
    | leading/trailing whitespace | ignored | ignored (TextWorld strips) |
    | `think: ...` -> `OK.` | any case (`Think:`, `THINK:`) | case-sensitive `think:` (ReAct's check) |
    | first observation | with the `-= Welcome to TextWorld, ALFRED! =-` banner | banner dropped |
    | `You arrive at loc N. ` prefix | kept | dropped (`process_ob`) |
    | actions per episode | 50 (the registered `max_episode_steps`) | 49: the env truncates after the 49th |

    Deliberate differences from the references under `"paper"`: the engine runs our old-grammar copy of
    each game (`put X in/on Y`, as ReAct's alfworld <= 0.3 wrote it, which the `json_2.1.1` files
    here use); Reflexion's early stop on a repeated action (`check_is_exhausted`) is not applied (it
    is the agent loop's choice, not the game's); a `think:` action is answered without stepping the
    engine (ReAct steps it, the engine answers `Nothing happens.` and nothing changes).

    ## Action Space
    `AnyText`. The commands of the game files (the old ALFWorld grammar, as in the paper's prompts);
    case and extra spaces are ignored under `"default"`, exact under `"paper"`::

        go to countertop 1          open fridge 1            close fridge 1
        take apple 1 from fridge 1  put apple 1 in/on countertop 1
        heat apple 1 with microwave 1   cool apple 1 with fridge 1   clean apple 1 with sinkbasin 1
        use desklamp 1              examine desk 1           look      inventory
        think: first I need to find an apple.

    ## Observation Space
    `AnyText`, exactly as the engine writes it. First observation (`valid_unseen` task
    `pick_cool_then_place_in_recep-Bread-None-CounterTop-10/trial_T20190908_091747_866951`)::

        -= Welcome to TextWorld, ALFRED! =-

        You are in the middle of a room. Looking quickly around you, you see a cabinet 6, ...

        Your task is to: put a cool bread in countertop.

    `go to fridge 1` -> `You arrive at loc 10. The fridge 1 is closed.` (`"paper"`: `The fridge 1 is
    closed.`, and the first observation starts at `You are in the middle of a room.`); a `think: ...`
    action -> `OK.`; any command the game does not accept now (malformed, unknown, impossible) ->
    `Nothing happens.`. The commands accepted now are in `info["admissible_actions"]`.

    ## Starting State
    The game's initial state: `options={"task_id": "<task folder>/<trial folder>"}` chooses the game,
    otherwise the seeded `np_random` does.

    ## Rewards
    Success (the game is won): 1.0 on the winning step, 0.0 on every other step.

    ## Episode End
    Terminates when the game is won, or right after a step on which the engine failed (then
    `success=False`). Truncated by gymnasium's `TimeLimit` after `max_episode_steps` (default 50);
    under `protocol="paper"` the env itself truncates after 49 actions (ReAct's `range(1, 50)`,
    Reflexion's `cur_step < 49`), whatever a larger `max_episode_steps`. `think:` and rejected
    commands count as steps.

    ## Information
    At reset and every step: `task_id`, `task_type` (short name: `pick_and_place`, `clean`, `heat`,
    `cool`, `look_at_obj_in_light`, `pick_two`; `rerest_envs.alfworld.success_by_type` turns
    `(task_type, success)` pairs into the per-type table ALFWorld papers report), `task` (the task sentence), `admissible_actions`
    (sorted list), `won`, `steps`, `game_file`, and `engine_error` when the engine failed. `feedback`:
    - `success`: True once won; False if the engine failed; None while the episode runs (a truncated
      episode ends with None: not won).
    - `score`: 1.0 if won, else 0.0.
    - `message`: agent-visible: `Task completed in 7 steps.`, or `The task was not completed in 50
      steps. Last observations: ...` (the last three).
    - `privileged` (**reflector/evaluator only**): the game's expert plan, `Expert plan for this game
      (traj_data, 8 actions): go to countertop 1 > take bread 1 from countertop 1 > ...`: ALFRED's
      expert demonstration translated to commands, the generator's walkthrough, or (for the few
      games whose demonstration cannot be translated) fast-downward's plan, made in a child process
      that `reset` starts without waiting (so reset stays fast); the first step's feedback waits for it,
      at most `planner_timeout` seconds from the reset, then says `none`.
    - `details`: `won` `{score, weight, explanation}`, `steps`, `task_type`, `expert_plan_source`,
      `expert_plan_length`, and `engine_error` when the engine failed.

    ## Arguments
    ```python
    gymnasium.make("rerest/ALFWorld-v0", split="valid_unseen", data_dir=None, task_types=None,
                   download=True, render_mode=None, protocol="default", planner_timeout=30.0,
                   max_episode_steps=50)
    ```
    - `split`: `valid_unseen` (134 games, the paper's evaluation set), `valid_train` (200 games from
      the training scenes), `valid_seen`, `train` (3,553 games, official download only), or the path
      of a split folder (`.../json_2.1.1/train`, e.g. written by `scripts/alfworld_generate.py`).
    - `data_dir`: folder holding `json_2.1.1/` or its `json_2.1.1_<split>.tar.xz` archives; default:
      `$ALFWORLD_DATA`, then `$RERST_DATA_DIR/alfworld`, then `~/.cache/rerest/alfworld`. Archives
      of the data layer are unpacked once into the user cache (keyed by archive path, size and
      mtime); archives in an explicit `data_dir=` are unpacked into a temporary folder of this
      process, never copied into the cache.
    - `task_types`: keep only these types (short or official names, 1-6, or a comma-separated string).
    - `download`: allow fetching the official release zip into the user cache when nothing local has
      the split.
    - `render_mode`: `None` or `"ansi"` (the transcript).
    - `protocol`: `"default"` or `"paper"` (see the table in Description).
    - `planner_timeout`: seconds the planner fallback may run (from the reset that starts it).

    ## Version History
    - v0: initial version. Later, same id (the default protocol is unchanged): `protocol="paper"`;
      the planner fallback runs beside the episode instead of inside `reset`.

    ## References
    - Shridhar et al., "ALFWorld: Aligning Text and Embodied Environments for Interactive Learning", ICLR 2021.
    - Yao et al., "ReAct: Synergizing Reasoning and Acting in Language Models", ICLR 2023.
    - Dou et al., "Re-ReST: Reflection-Reinforced Self-Training for Language Agents", EMNLP 2024.
    """

    def __init__(self, split: str | os.PathLike[str] = "valid_unseen", data_dir: str | os.PathLike[str] | None = None, *,
                 task_types: Iterable[str] | str | None = None, download: bool = True, render_mode: str | None = None,
                 protocol: Literal["default", "paper"] = "default", planner_timeout: float = PLANNER_TIMEOUT) -> None:
        super().__init__(render_mode=render_mode)
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol={protocol!r} is not an ALFWorld protocol; choose one of {list(PROTOCOLS)}.")
        if not planner_timeout > 0:
            raise ValueError(f"planner_timeout must be a positive number of seconds, got {planner_timeout!r}.")
        self.protocol, self.planner_timeout = protocol, float(planner_timeout)
        self._jobs: dict[str, PlanJob] = {}  # task id -> planner child still running
        self.games: dict[str, GameRecord] = {g.task_id: g for g in find_games(split, data_dir, task_types=task_types, download=download)}
        self.task_ids = list(self.games)
        self.split = os.fspath(split)
        self._engine: GameEngine | None = None
        self._loaded: str | None = None  # task id of the game in the engine
        self._plans: dict[str, tuple[list[str], str]] = {}
        self._broken: dict[str, str] = {}  # task id -> why its game could not be started
        self._game: GameRecord | None = None
        self._task = ""
        self._game_data: dict[str, Any] = {}  # the loaded game file
        self._state: EngineState | None = None
        self._error = ""
        self._steps = 0
        self._recent: list[str] = []

    # -- episode ----------------------------------------------------------------------------------------
    def _start(self, task_id: str) -> tuple[str, dict[str, Any]]:
        self._game, self._steps, self._error, self._state = self.games[task_id], 0, "", None
        try:
            if task_id in self._broken:
                raise GameError(self._broken[task_id])
            if self._engine is None:
                self._engine = GameEngine()
            if self._loaded != task_id:
                self._loaded = None
                game = to_old_grammar(json.loads(self._game.game_file.read_text(encoding="utf-8")))
                self._task, self._game_data = task_sentence(game), game
                self._engine.load(game, task_id)
                self._loaded = task_id
            self._state = self._engine.reset()
            if task_id not in self._plans and task_id not in self._jobs:  # read from the initial state, before any step
                self._expert()
            observation = self._state.feedback
            if self.protocol == "paper":
                observation = react_first_observation(observation)
        except (GameError, OSError, ValueError) as e:
            self._error = self._broken[task_id] = " ".join(str(e).split())
            observation = f"This game could not be started ({self._error}). Reset to play another game."
        self._recent = [observation]
        return observation, self._info()

    def _act(self, action: str) -> tuple[str, float, bool, Feedback, dict[str, Any]]:
        self._steps += 1
        if self._state is None or self._engine is None:  # the game failed at reset or on an earlier step
            return self._reply("Nothing happens.")
        paper = self.protocol == "paper"
        if action.strip().startswith(THINK_PREFIX) if paper else action.strip().lower().startswith(THINK_PREFIX):
            return self._reply(THINK_REPLY)
        try:  # paper: the command as TextWorld's PddlEnv.step reads it (stripped, then matched exactly)
            self._state = self._engine.step(action if paper else normalize_command(action))
        except GameError as e:
            self._state, self._error, self._loaded = None, " ".join(str(e).split()), None
            return self._reply("Nothing happens.")
        return self._reply(react_observation(self._state.feedback) if paper else self._state.feedback)

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        """Answer one action; under `protocol="paper"` the 49th action ends the episode (truncated)."""
        observation, reward, terminated, truncated, info = super().step(action)
        if self.protocol == "paper" and not terminated and self._steps >= PAPER_MAX_STEPS:
            truncated, self._done = True, True
        return observation, reward, terminated, truncated, info

    def _reply(self, observation: str) -> tuple[str, float, bool, Feedback, dict[str, Any]]:
        self._recent = (self._recent + [observation])[-3:]
        won = bool(self._state and self._state.won)
        feedback = self._feedback(won)
        return observation, feedback.score, won or bool(self._error), feedback, self._info()

    def _feedback(self, won: bool) -> Feedback:
        assert self._game is not None
        self._collect_plan(self._game.task_id)
        plan, source = self._plans.get(self._game.task_id, ([], "unknown"))
        return episode_feedback(won=won, steps=self._steps, recent=self._recent, plan=plan, plan_source=source,
                                task_type=short_name(self._game.task_type), engine_error=self._error)

    def _info(self) -> dict[str, Any]:
        assert self._game is not None
        info: dict[str, Any] = {"task_type": short_name(self._game.task_type), "task": self._task,
                                "admissible_actions": list(self._state.admissible) if self._state else [],
                                "won": bool(self._state and self._state.won), "steps": self._steps,
                                "game_file": str(self._game.game_file)}
        if self._error:
            info["engine_error"] = self._error
        return info

    def _expert(self) -> None:
        """The expert plan: the game's walkthrough, ALFRED's demonstration, or (started here, collected
        by `_collect_plan` when feedback needs it) the planner's plan from a child process."""
        assert self._engine is not None and self._game is not None
        task_id = self._game.task_id
        if self._game_data.get("walkthrough"):
            self._plans[task_id] = [str(c) for c in self._game_data["walkthrough"]], "walkthrough"
            return
        try:
            traj = json.loads(self._game.traj_file.read_text(encoding="utf-8"))
            self._plans[task_id] = expert_plan(traj["plan"]["high_pddl"], self._engine.facts(), self._engine.entity_names()), "traj_data"
            return
        except (OSError, ValueError, KeyError, TypeError, ExpertPlanError):
            pass
        try:
            self._jobs[task_id] = PlanJob(self._game_data, name=task_id, timeout=self.planner_timeout)
        except OSError:
            self._plans[task_id] = [], "none"

    def _collect_plan(self, task_id: str) -> None:
        job = self._jobs.pop(task_id, None)
        if job is None:
            return
        try:
            self._plans[task_id] = job.result(), "planner"
        except GameError:
            self._plans[task_id] = [], "none"

    def expert_plan(self, task_id: str | None = None) -> list[str]:
        """The expert plan of a game (default: the current one). A game not played yet is loaded,
        which resets the env onto it."""
        task_id = task_id or (self._game.task_id if self._game else None)
        if task_id is None:
            raise ValueError("No game chosen: pass task_id= or reset the env first.")
        if task_id not in self._plans and task_id not in self._jobs:
            self.reset(options={"task_id": task_id})
        self._collect_plan(task_id)
        return list(self._plans.get(task_id, ([], ""))[0])

    def close(self) -> None:
        for job in self._jobs.values():
            job.cancel()
        self._jobs.clear()
        if self._engine is not None:
            self._engine.close()
        self._engine, self._loaded, self._state = None, None, None
        super().close()
