"""Pictures of the example episodes, as PNG data URIs, each with a note when there is none.

Three ways, by env:
- Layout: the boxes of the attempt's last action, drawn by `rerest_envs.layout.draw_layout` (no env needed).
- An env whose `render_modes` has `rgb_array` (GQA, and any other such env): the episode is re-played
  from the record alone: the env is rebuilt from the run config's `train_env_kwargs` (or
  `test_env_kwargs` for an evaluation record) with `render_mode="rgb_array"`, reset on the record's
  `task_id`, given the record's actions, and asked for `render()`. A re-play whose verdict differs
  from the record's says so under its picture. Re-plays are bounded: at most `max_replays` episodes
  and `budget_s` seconds per report, then the rest say "not drawn".
- ALFWorld: its env renders text only (`render_modes == ["ansi"]`), so the report draws the episode
  from the record: the receptacles the first observation lists, which ones the agent went to and in
  what order, and what it took, put, opened, heated, cooled, cleaned or used there.
"""

from __future__ import annotations

import re
import time
from typing import Any

from rerest_agents.report import plots
from rerest_agents.report.load import RunData, find_key
from rerest_agents.rollout.records import Trajectory

#: Envs whose answers are drawn as layouts (`rerest_envs.layout.draw_layout`).
LAYOUT_ENV_PREFIX = "rerest/Layout"
#: Envs drawn from the record by `alfworld_picture`.
ALFWORLD_ENV_PREFIX = "rerest/ALFWorld"
#: Width in pixels of the pictures the report draws itself.
PICTURE_WIDTH = 440


class Pictures:
    """Draws the pictures of one report's example episodes; `close()` frees the envs it built."""

    def __init__(self, run: RunData, *, replay: bool = True, max_replays: int = 12, budget_s: float = 60.0) -> None:
        self.run, self.replay = run, replay
        self.max_replays, self.budget_s = max_replays, budget_s
        self.replays, self.seconds = 0, 0.0
        self._envs: dict[str, Any] = {}  # "train" / "test" -> env, or the one-line reason it could not be built

    def of(self, t: Trajectory) -> tuple[str | None, str]:
        """(PNG data URI or None, note for under the picture; says why when there is no picture)."""
        env_id = t.env_id or self.run.env_id or ""
        final = t.steps[-1].action if t.steps else ""
        if env_id.startswith(LAYOUT_ENV_PREFIX):
            if not final:
                return None, "no action, nothing to draw"
            uri = plots.layout_uri(final)
            return uri, "" if uri else "no box could be read from this answer"
        if env_id.startswith(ALFWORLD_ENV_PREFIX):
            return plots.array_uri(alfworld_picture(t)), "drawn from the record (the ALFWorld env renders text only)"
        if not self.replay or not renders_rgb(env_id):
            return None, ""
        return self._replayed(t, env_id)

    def _replayed(self, t: Trajectory, env_id: str) -> tuple[str | None, str]:
        if not t.steps:
            return None, "no action, nothing to re-play"
        if self.replays >= self.max_replays or self.seconds >= self.budget_s:
            return None, f"not drawn: the report re-plays at most {self.max_replays} episodes in {self.budget_s:.0f} s"
        split = "test" if t.key.startswith("eval") or "eval" in t.origin else "train"
        env = self._env(env_id, split)
        if isinstance(env, str):
            return None, env
        self.replays += 1
        start = time.monotonic()
        try:
            env.reset(options={"task_id": t.task_id})
            info: dict[str, Any] = {}
            for step in t.steps:
                _, _, terminated, truncated, info = env.step(step.action)
                if terminated or truncated:
                    break
            picture = env.render()
        except Exception as e:  # noqa: BLE001 - a picture is never worth a failed report
            return None, f"re-play failed: {type(e).__name__}: {_one_line(str(e))}"
        finally:
            self.seconds += time.monotonic() - start
        if picture is None:
            return None, "the env drew nothing"
        feedback = info.get("feedback")
        success = getattr(feedback, "success", None)
        note = "the env's render of the re-played episode"
        if success is not None and bool(success) != t.success:
            note += f" (the re-play was scored {'a success' if success else 'a failure'}, unlike the record)"
        return plots.array_uri(picture), note

    def _env(self, env_id: str, split: str) -> Any:
        if split not in self._envs:
            kwargs = _env_kwargs(self.run, split)
            try:
                from rerest_agents.rollout.envs import make_env

                self._envs[split] = make_env(env_id, render_mode="rgb_array", **kwargs)
            except Exception as e:  # noqa: BLE001 - missing data, a bad config: the page says why
                self._envs[split] = f"no picture: could not rebuild {env_id} ({type(e).__name__}: {_one_line(str(e))})"
        return self._envs[split]

    def close(self) -> None:
        for env in self._envs.values():
            if not isinstance(env, str):
                try:
                    env.close()
                except Exception:  # noqa: BLE001, S110 - closing is best effort
                    pass
        self._envs.clear()


def renders_rgb(env_id: str) -> bool:
    """Whether the registered env lists `rgb_array` among its render modes (without building it)."""
    import importlib

    import gymnasium

    if env_id.startswith("rerest/") and env_id not in gymnasium.registry:
        importlib.import_module("rerest_envs")
    spec = gymnasium.registry.get(env_id)
    if spec is None:
        return False
    try:
        creator = spec.entry_point if callable(spec.entry_point) else gymnasium.envs.registration.load_env_creator(spec.entry_point)
    except Exception:  # noqa: BLE001
        return False
    return "rgb_array" in (getattr(creator, "metadata", None) or {}).get("render_modes", [])


def _env_kwargs(run: RunData, split: str) -> dict[str, Any]:
    config = run.config or {}
    kwargs = config.get(f"{split}_env_kwargs")
    if not isinstance(kwargs, dict):
        found = find_key(config, f"{split}_env_kwargs")
        kwargs = found if isinstance(found, dict) else {}
    return {k: v for k, v in kwargs.items() if k != "render_mode"}


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- ALFWorld, drawn from the record ---------------------------------------------------------------
_RECEPTACLES = re.compile(r"you see (.*?)\.\s*$", re.M)
_ITEM = re.compile(r"^(?:and )?an? (.+)$")
_VERBS = (("take ", " from ", "took"), ("put ", " in/on ", "put"), ("heat ", " with ", "heated"), ("cool ", " with ", "cooled"),
          ("clean ", " with ", "cleaned"))
_OTHER_VERBS = (("open ", "opened"), ("close ", "closed"), ("use ", "used"), ("examine ", "examined"))


def alfworld_receptacles(observation: str) -> list[str]:
    """The receptacles of the room, as the first observation lists them (`a cabinet 1, ..., and a toilet 1`)."""
    found = _RECEPTACLES.search(observation)
    if not found:
        return []
    names = []
    for part in found.group(1).split(", "):
        m = _ITEM.match(part.strip())
        if m:
            names.append(m.group(1).strip())
    return names


def alfworld_task(observation: str) -> str:
    for line in observation.splitlines():
        if line.startswith("Your task is to:"):
            return line[len("Your task is to:"):].strip()
    return ""


def alfworld_events(t: Trajectory) -> tuple[list[str], dict[str, list[tuple[int, str]]]]:
    """(receptacles in the order first visited, receptacle -> [(turn, what happened there)]) of the effective actions."""
    visits: list[str] = []
    events: dict[str, list[tuple[int, str]]] = {}
    here = None
    for turn, step in enumerate(t.steps, start=1):
        action = " ".join(step.action.lower().split())
        if step.observation.startswith("Nothing happens") or not action:
            continue
        if action.startswith("go to "):
            here = action[len("go to "):]
            visits.append(here)
            events.setdefault(here, []).append((turn, "arrived"))
            continue
        for verb, joint, word in _VERBS:
            if action.startswith(verb) and joint in action:
                thing, place = action[len(verb):].split(joint, 1)
                events.setdefault(place, []).append((turn, f"{word} {thing}"))
                break
        else:
            for verb, word in _OTHER_VERBS:
                if action.startswith(verb):
                    target = action[len(verb):]
                    place = target if target in events or here is None else here
                    events.setdefault(place, []).append((turn, f"{word} {target}" if target != place else word))
                    break
    return visits, events


def alfworld_picture(t: Trajectory, width: int = PICTURE_WIDTH) -> Any:
    """An RGB uint8 array: the room's receptacles as tiles, visited ones shaded with turn numbers and what was done there."""
    import numpy as np
    from PIL import Image, ImageDraw

    font, small = _font(13), _font(11)
    receptacles = alfworld_receptacles(t.observation)
    visits, events = alfworld_events(t)
    for place in [*visits, *events]:  # places the first observation did not list (a bad parse): shown too
        if place not in receptacles:
            receptacles.append(place)
    columns, pad, tile_h = 3, 6, 58
    tile_w = (width - pad * (columns + 1)) // columns
    rows = max(1, -(-len(receptacles) // columns))
    header, footer = 40, 24
    height = header + rows * (tile_h + pad) + pad + footer
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    task = alfworld_task(t.observation) or "(task line not found)"
    draw.text((pad, 4), _fit(draw, f"Task: {task}", font, width - 2 * pad), fill=(20, 20, 20), font=font)
    verdict = "success" if t.success else ("failed, step limit reached" if t.truncated else "failed")
    draw.text((pad, 21), f"{len(t.steps)} actions, {len(visits)} moves · {verdict}", fill=(26, 127, 55) if t.success else (198, 40, 40),
              font=small)
    order = {place: [n for n, what in events.get(place, []) if what == "arrived"] for place in receptacles}
    for i, place in enumerate(receptacles):
        x = pad + (i % columns) * (tile_w + pad)
        y = header + (i // columns) * (tile_h + pad)
        happened = [what for _, what in events.get(place, []) if what != "arrived"]
        visited = bool(order[place]) or bool(happened)
        fill = (221, 235, 250) if visited else (246, 247, 249)
        outline = (31, 119, 180) if visited else (210, 214, 220)
        if any(w.startswith("put ") for w in happened):
            outline = (26, 127, 55) if t.success else (214, 39, 40)
        draw.rectangle((x, y, x + tile_w, y + tile_h), fill=fill, outline=outline, width=2 if visited else 1)
        draw.text((x + 5, y + 3), _fit(draw, place, font, tile_w - 10), fill=(20, 20, 20) if visited else (130, 136, 145), font=font)
        if order[place]:
            draw.text((x + 5, y + 20), _fit(draw, "turn " + ", ".join(map(str, order[place])), small, tile_w - 10), fill=(31, 90, 150),
                      font=small)
        if happened:
            draw.text((x + 5, y + 36), _fit(draw, "; ".join(happened), small, tile_w - 10), fill=(60, 60, 60), font=small)
    draw.text((pad, height - footer + 5), "shaded: went there (turn numbers); green/red edge: put something there", fill=(110, 116, 125),
              font=small)
    return np.asarray(image, dtype=np.uint8).copy()


def _font(size: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one bitmap size
        return ImageFont.load_default()


def _fit(draw: Any, text: str, font: Any, width: int) -> str:
    """`text`, cut with an ellipsis to fit `width` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


__all__ = ["Pictures", "alfworld_events", "alfworld_picture", "alfworld_receptacles", "renders_rgb"]
