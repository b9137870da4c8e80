"""One ALFWorld game on the real engine (TextWorld's `PddlEnv` + alfworld's name demangler), contained.

Why not `textworld.gym`: it speaks the old 4-tuple gym API, wraps every game in a batch env and
reloads the game file on every reset. Here one `PddlEnv` (with its own copy of fast-downward's
library) lives as long as the gymnasium env and loads games one after another, and:

* reset is cheap: the PDDL -> SAS translation of a game (the bulk of a load, ~0.3 s per pass) is
  done once per game and reused by every later reset of it (TextWorld redoes it on every reset);
  the second, optimised translation only feeds the planner, so it is made and loaded into
  fast-downward only when `plan()` is called;
* an inadmissible command is answered `Nothing happens.` without touching the engine (the engine
  would answer the same after recomputing every admissible command);
* crashes are contained: a bad PDDL file makes fast-downward raise `SystemExit`, an unsolvable goal
  can raise inside the planner, and fast-downward's translation rebinds `sys.argv` to
  `['translate.py', 'domain', 'task']`. Every call runs under a guard that turns any of these into a
  one-line `GameError`; an engine that failed mid-game refuses further steps until a game is loaded
  again. `sys.argv` is saved and restored *under the process-wide engine lock* (`_argv_kept`), the
  same lock every translation runs under, so engines used from several threads never save a
  translation's argv and put it back.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from rerest_envs.errors import DependencyNotInstalled, RerestEnvError

NOTHING_HAPPENS = "Nothing happens."
INSTALL_HINT = 'pip install "rerest[alfworld]"  (alfworld>=0.4, which builds fast-downward: needs g++, cmake, make)'
#: Games whose translation is kept per engine (switching back to one of them skips the translation).
TRANSLATION_CACHE = 32

#: Held while TextWorld's module functions are patched and while a translation may rebind `sys.argv`
#: (re-entrant, so a nested engine call on the same thread cannot deadlock).
_PATCH_LOCK = threading.RLock()


@functools.lru_cache(maxsize=4096)
def _parsed_template(parse: Any, text: str, rule_name: str) -> Any:
    """TatSu's parse of a grammar template (`go to {r}`, `#examineReceptacle.feedback#`): the same for
    every game and state, and the bulk of a step's time (TextWorld parses every template again on
    every derivation). Callers get a deep copy, since derivation writes into the symbols."""
    return parse(text, rule_name=rule_name)


class GameError(RerestEnvError):
    """The engine could not load, reset, step or plan a game (bad PDDL, planner failure, ...)."""


@dataclass(frozen=True)
class EngineState:
    """What the engine says after a reset or a step.

    Attributes:
        feedback: The observation text, exactly as the game's grammar writes it.
        admissible: The commands the game accepts now, sorted (as TextWorld sorts them).
        won: Whether the goal holds.
        changed: Whether the command was admissible (and so changed the game state).
    """

    feedback: str
    admissible: tuple[str, ...]
    won: bool
    changed: bool = True


def _import_engine() -> tuple[Any, Any, Any, Any]:
    try:
        import fast_downward
        import textworld
        from alfworld.agents.environment.alfred_tw_env import AlfredDemangler
        from textworld.envs import PddlEnv
    except ImportError as e:
        raise DependencyNotInstalled(f"ALFWorld needs the alfworld engine ({e.name or e}); install it with {INSTALL_HINT}.") from e
    return fast_downward, textworld, PddlEnv, AlfredDemangler


@contextlib.contextmanager
def _argv_kept() -> Iterator[None]:
    """Hold the engine lock, and give `sys.argv` back (same list object, same items) on the way out.

    The save happens after the lock is taken: saved before it, a thread could save the argv of another
    thread's translation in progress and restore that one (issue 16).
    """
    with _PATCH_LOCK:
        argv = sys.argv
        saved = list(argv)
        try:
            yield
        finally:
            sys.argv = argv
            argv[:] = saved


@contextlib.contextmanager
def contained(what: str) -> Iterator[None]:
    """Turn anything the engine throws (SystemExit included) into a one-line `GameError`."""
    try:
        yield
    except (KeyboardInterrupt, GeneratorExit):
        raise
    except GameError:
        raise
    except BaseException as e:  # noqa: BLE001 - fast-downward exits the process on bad PDDL
        text = " ".join(str(e).split()) or "no message"
        raise GameError(f"{what} failed: {type(e).__name__}: {text[:300]}") from e


class GameEngine:
    """One loaded ALFWorld game; `load` another game into the same engine to switch.

    Attributes:
        name: How error messages name the current game (a task id or a path).
    """

    def __init__(self) -> None:
        self._fd, textworld, pddl_env_cls, demangler_cls = _import_engine()
        from textworld.envs.pddl import textgen

        self._textgen = textgen
        with contained("Starting the ALFWorld engine"), _argv_kept():
            self._pddl = pddl_env_cls(textworld.EnvInfos(won=True, admissible_commands=True))
            self._env = demangler_cls(self._pddl)
            lib = self._pddl.downward_lib
            # The replan task is read only by the planner: load it when `plan()` is called, not on every reset.
            self._load_replan = lib.load_sas_replan
            lib.load_sas_replan = lambda sas: None
        self._translations: OrderedDict[tuple[str, str], dict[bool, Any]] = OrderedDict()
        self._game: Mapping[str, Any] | None = None
        self.name = ""
        self._state: EngineState | None = None
        self._planner_ready = False
        self._closed = False

    # -- translation cache ----------------------------------------------------------------------
    def _cached(self, domain: str, problem: str) -> dict[bool, Any]:
        key = (domain, problem)
        entry = self._translations.pop(key, None)
        self._translations[key] = entry = entry if entry is not None else {}
        while len(self._translations) > TRANSLATION_CACHE:
            self._translations.popitem(last=False)
        return entry

    @contextlib.contextmanager
    def _engine_caches(self, *, optimize_for_planner: bool = False) -> Iterator[None]:
        """Make TextWorld's `fast_downward.pddl2sas` calls hit this engine's per-game cache, and its
        grammar's template parses hit `_parsed_template` (same results, without re-running TatSu)."""
        real = self._fd.pddl2sas
        textgen = self._textgen
        real_parse = textgen._parse_and_convert

        def cached(domain: str, problem: str, verbose: bool = False, optimize: bool = False) -> Any:
            entry = self._cached(domain, problem)
            optimize = optimize and optimize_for_planner  # the replan task is only read by the planner
            if optimize not in entry:
                entry[optimize] = real(domain, problem, verbose=verbose, optimize=optimize)
            return entry[optimize]

        def parse(text: str, rule_name: str = "", **kwargs: Any) -> Any:
            if kwargs.get("trace"):
                return real_parse(text, rule_name=rule_name, **kwargs)
            return copy.deepcopy(_parsed_template(real_parse, text, rule_name))

        with _argv_kept():
            self._fd.pddl2sas, textgen._parse_and_convert = cached, parse
            try:
                yield
            finally:
                self._fd.pddl2sas, textgen._parse_and_convert = real, real_parse

    # -- game --------------------------------------------------------------------------------------
    def load(self, game: Mapping[str, Any], name: str = "") -> None:
        """Load a game (the dict of a `game.tw-pddl` file); raises `GameError` if the engine rejects it."""
        self._check_open()
        missing = [k for k in ("pddl_domain", "grammar", "pddl_problem") if not isinstance(game.get(k), str)]
        self._game, self.name, self._state, self._planner_ready = None, name, None, False
        if missing:
            raise GameError(f"ALFWorld game {name or '(unnamed)'} lacks {missing}; a game.tw-pddl holds pddl_domain, grammar and pddl_problem.")
        with contained(f"Loading ALFWorld game {name or '(unnamed)'}"), self._engine_caches():
            self._env.load(dict(game))
        self._game = game

    def reset(self) -> EngineState:
        """Back to the game's initial state (no retranslation); returns the intro observation."""
        self._require_game()
        with contained(f"Resetting ALFWorld game {self.name}"), self._engine_caches():
            state = self._env.reset()
        self._planner_ready = False
        self._state = EngineState(str(state.feedback), tuple(state["admissible_commands"]), bool(state["won"]))
        return self._state

    def step(self, command: str) -> EngineState:
        """Play one command; inadmissible ones get `Nothing happens.` and change nothing."""
        if self._state is None:
            raise GameError(f"ALFWorld game {self.name or '(none)'} is not running: reset it (after a failure, load it again).")
        command = command.strip()
        if command not in self._state.admissible:
            return EngineState(NOTHING_HAPPENS, self._state.admissible, self._state.won, changed=False)
        self._state = None  # stays None if the engine fails below
        with contained(f"Step {command!r} in ALFWorld game {self.name}"), self._engine_caches():
            state, _, _ = self._env.step(command)
        self._state = EngineState(str(state.feedback), tuple(state["admissible_commands"]), bool(state["won"]))
        return self._state

    def plan(self) -> list[str]:
        """The planner's (fast-downward) commands from the current state to the goal; [] if it finds none.

        The search runs in C and cannot be interrupted: on an unreachable goal in a large scene it
        may take minutes and gigabytes. `rerest_envs.alfworld.planner.plan_game` runs it in a
        child process with limits; use that unless the game is known to be solvable and small.

        Raises:
            GameError: the planner crashed (an unsolvable or malformed goal can make it raise).
        """
        if self._state is None or self._game is None:
            raise GameError(f"ALFWorld game {self.name or '(none)'} is not running: reset it before asking for a plan.")
        pddl_state = self._pddl._pddl_state
        with contained(f"Planning in ALFWorld game {self.name}"):
            if not self._planner_ready:
                with self._engine_caches(optimize_for_planner=True):
                    _, sas = self._fd.pddl2sas(self._game["pddl_domain"], self._game["pddl_problem"], optimize=True)
                self._load_replan(sas.encode("utf-8"))
                self._planner_ready = True
            return [str(c) for c in pddl_state.replan(self._pddl._entity_infos)]

    def facts(self) -> list[tuple[str, tuple[str, ...]]]:
        """The current PDDL facts as (predicate, argument ids), lowercase as the parser writes them."""
        self._require_game()
        return [(f.name, tuple(v.name for v in f.arguments)) for f in self._pddl._pddl_state.facts]

    def entity_names(self) -> dict[str, str]:
        """PDDL id -> the name the agent reads (`apple_bar__minus_00_dot_47...` -> `apple 1`)."""
        self._require_game()
        return {key: str(info.name) for key, info in self._pddl._entity_infos.items()}

    @property
    def state(self) -> EngineState | None:
        """The last state (None before reset or after a failure)."""
        return self._state

    def close(self) -> None:
        """Drop the game and the caches; idempotent. fast-downward's library copy stays mapped until
        the process exits, as in TextWorld: unloading it (`close_lib`) made the interpreter crash at exit."""
        if self._closed:
            return
        self._closed, self._state, self._game = True, None, None
        self._translations.clear()

    def _require_game(self) -> Mapping[str, Any]:
        self._check_open()
        if self._game is None:
            raise GameError("No ALFWorld game is loaded (the last load failed, or none was made); load one first.")
        return self._game

    def _check_open(self) -> None:
        if self._closed:
            raise GameError("This ALFWorld engine was closed; make a new one.")
