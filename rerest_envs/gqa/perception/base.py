"""The perception interface behind `ImagePatch`, and the server that answers a sandboxed program.

A program's `ImagePatch` calls become requests (`{"method", "box", "ref", "args"}`, box in
ViperGPT's bottom-origin pixels) that travel over the sandbox channel to a `PerceptionServer` in the
caller, which checks them, asks the run's `Perception` (scene graph or neural models) and sends back
`{"ok": value}` or `{"error": text}`. Only these methods with these argument types are reachable,
and every call is logged, so the boxes a program found can be drawn and shown to a reflector.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

#: (left, lower, right, upper) in pixels of the original image, origin bottom-left (ViperGPT).
Box = tuple[float, float, float, float]

#: method -> the types of its arguments (`None` allowed where the tuple holds `type(None)`).
METHODS: dict[str, tuple[tuple[type, ...], ...]] = {
    "find": ((str,),),
    "exists": ((str,),),
    "verify_property": ((str,), (str,)),
    "best_text_match": ((list,), (str, type(None))),
    "simple_query": ((str,),),
    "compute_depth": (),
    "text_score": ((str,),),
    "llm_query": ((str,), (bool,)),
}
#: Longest text argument accepted (characters).
MAX_TEXT = 2000


class PerceptionUnavailable(Exception):
    """This perception cannot answer the call; the message tells the program (and agent) why."""


@dataclass(frozen=True)
class Detection:
    """One object `find` returned: its box (bottom-origin), the backend's id for it, label and score."""

    box: Box
    ref: str | None
    label: str
    score: float = 1.0

    def to_json(self) -> dict[str, Any]:
        return {"box": [round(v, 2) for v in self.box], "ref": self.ref, "label": self.label, "score": round(self.score, 4)}


class Perception(ABC):
    """What an `ImagePatch` can ask about the image. `ref` is the id of the object a patch came from
    (a `find` result), so a backend can answer about exactly that object; None for other crops."""

    #: Backend name shown in feedback details (`scene_graph`, `neural`).
    name: str = ""
    #: `time.monotonic()` after which work must stop (set by `PerceptionServer` around each call).
    deadline: float | None = None

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = int(width), int(height)

    def check_deadline(self) -> None:
        """Raise `PerceptionUnavailable` once the run's perception time is spent; backends call it inside long work."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise PerceptionUnavailable("this run used up its perception time; call find/simple_query less often")

    @abstractmethod
    def find(self, box: Box, ref: str | None, name: str) -> list[Detection]:
        """Objects called `name` inside `box`, most salient first."""

    def exists(self, box: Box, ref: str | None, name: str) -> bool:
        return bool(self.find(box, ref, name))

    @abstractmethod
    def verify_property(self, box: Box, ref: str | None, name: str, prop: str) -> bool:
        """Whether the `name` in `box` has `prop`."""

    @abstractmethod
    def best_text_match(self, box: Box, ref: str | None, options: list[str], prefix: str | None) -> str:
        """The option that describes `box` best."""

    @abstractmethod
    def simple_query(self, box: Box, ref: str | None, question: str) -> str:
        """A short answer to a basic question about `box`; raise `PerceptionUnavailable` if none."""

    @abstractmethod
    def text_score(self, box: Box, ref: str | None, text: str) -> float:
        """How well `text` describes `box` (higher is better; used by `best_image_match`)."""

    def compute_depth(self, box: Box, ref: str | None) -> float:
        """Ground-plane proxy for depth (no depth model): the lower a box's bottom edge, the closer."""
        return round(10.0 * box[1] / max(self.height, 1), 4)

    def llm_query(self, text: str, long_answer: bool) -> str:
        raise PerceptionUnavailable("llm_query is not available: this environment has no text-only language model")

    def close(self) -> None:
        """Free models or files (nothing by default)."""


class PerceptionServer:
    """Answers one program run's channel requests with a `Perception`, and keeps the call log."""

    def __init__(self, perception: Perception, *, max_calls: int = 500, max_seconds: float = 300.0, max_log: int = 200) -> None:
        self.perception = perception
        self.max_calls, self.max_seconds, self.max_log = max_calls, max_seconds, max_log
        self.calls, self.seconds = 0, 0.0
        self.log: list[dict[str, Any]] = []
        self.found: list[Detection] = []

    def _check(self, request: Any) -> tuple[str, Box, str | None, list[Any]]:
        if not isinstance(request, dict):
            raise PerceptionUnavailable("malformed perception request")
        method, box, ref, args = request.get("method"), request.get("box"), request.get("ref"), request.get("args")
        if method not in METHODS:
            raise PerceptionUnavailable(f"unknown perception method {method!r}")
        if not (isinstance(box, list) and len(box) == 4 and all(isinstance(v, (int, float)) for v in box)):
            raise PerceptionUnavailable("a box is four numbers (left, lower, right, upper)")
        if ref is not None and not isinstance(ref, str):
            raise PerceptionUnavailable("ref must be a string or None")
        spec = METHODS[method]
        if not isinstance(args, list) or len(args) != len(spec):
            raise PerceptionUnavailable(f"{method} takes {len(spec)} argument(s)")
        for value, types in zip(args, spec):
            if not isinstance(value, types) or (isinstance(value, str) and len(value) > MAX_TEXT):
                raise PerceptionUnavailable(f"bad argument {str(value)[:80]!r} to {method}")
            if isinstance(value, list) and not (0 < len(value) <= 100 and all(isinstance(v, str) and len(v) <= MAX_TEXT for v in value)):
                raise PerceptionUnavailable(f"{method} needs a list of 1-100 strings")
        return method, (float(box[0]), float(box[1]), float(box[2]), float(box[3])), ref, args

    def call(self, method: str, box: Box, ref: str | None, args: list[Any]) -> Any:
        """Ask the perception directly (also used for the viper fallback) and log the call.

        Time spent here is not charged to the program's time limit, so a run's calls are capped in
        number (`max_calls`) and in perception seconds (`max_seconds`), counted over the whole run and
        enforced inside a call too: the perception's `deadline` is the moment the budget runs out, and
        backends stop there (`Perception.check_deadline`). Beyond the budget, calls fail.
        """
        if self.calls >= self.max_calls or self.seconds >= self.max_seconds:
            raise PerceptionUnavailable(f"this run used up its perception budget ({self.max_calls} calls, "
                                        f"{self.max_seconds:g} s); call find/simple_query less often")
        self.calls += 1
        entry: dict[str, Any] = {"method": method, "box": [round(v, 1) for v in box], "args": args}
        start = time.monotonic()
        self.perception.deadline = start + (self.max_seconds - self.seconds)
        try:
            if method in ("compute_depth",):
                answer: Any = self.perception.compute_depth(box, ref)
            elif method == "llm_query":
                answer = self.perception.llm_query(*args)
            else:
                answer = getattr(self.perception, method)(box, ref, *args)
            if method == "find":
                self.found.extend(answer)
                answer = [d.to_json() for d in answer]
            entry["answer"] = answer
            return answer
        except PerceptionUnavailable as exc:
            entry["error"] = str(exc)
            raise
        finally:
            self.perception.deadline = None
            self.seconds += time.monotonic() - start
            if len(self.log) < self.max_log:
                self.log.append(entry)

    def handle(self, request_text: str) -> str:
        """The channel handler: one JSON request in, one JSON answer out; never raises."""
        try:
            method, box, ref, args = self._check(json.loads(request_text))
            return json.dumps({"ok": self.call(method, box, ref, args)})
        except PerceptionUnavailable as exc:
            return json.dumps({"error": str(exc)})
        except ValueError:
            return json.dumps({"error": "malformed perception request"})
        except Exception as exc:  # a model's failure is the program's feedback, not the caller's crash
            return json.dumps({"error": f"the {self.perception.name} perception failed: {type(exc).__name__}: {exc}"})


__all__ = ["METHODS", "Box", "Detection", "Perception", "PerceptionServer", "PerceptionUnavailable"]
