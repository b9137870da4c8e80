"""The one interface every LLM backend implements: batched `generate` with n samples per prompt.

The harness (agent, reflector, pipeline) only talks to `LLM.generate`, so a run moves from the
embedded CPU model to vLLM on a GPU or to a hosted OpenAI-compatible server by changing one name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class SamplingParams:
    """How to sample.

    Attributes:
        n: Completions per prompt.
        temperature: 0 means greedy (then n > 1 gives n identical completions; use > 0 to explore).
        top_p: Nucleus sampling mass.
        max_tokens: Longest completion, in tokens.
        stop: Strings that end a completion; the stop string itself is not included in the text.
        seed: Makes sampling repeatable for the same backend, prompts and parameters.
    """

    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 256
    stop: tuple[str, ...] = ()
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"SamplingParams.n must be >= 1, got {self.n}.")
        if self.temperature < 0:
            raise ValueError(f"SamplingParams.temperature must be >= 0, got {self.temperature}.")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"SamplingParams.top_p must be in (0, 1], got {self.top_p}.")
        if self.max_tokens < 1:
            raise ValueError(f"SamplingParams.max_tokens must be >= 1, got {self.max_tokens}.")
        if isinstance(self.stop, str):
            object.__setattr__(self, "stop", (self.stop,))
        else:
            object.__setattr__(self, "stop", tuple(self.stop))

    def with_(self, **changes: Any) -> "SamplingParams":
        """A copy with some fields changed."""
        return replace(self, **changes)


@dataclass(frozen=True)
class Completion:
    """One sampled continuation.

    Attributes:
        text: The generated text (cut before the first stop string).
        finish_reason: `stop` (a stop string or end-of-sequence) or `length` (hit max_tokens).
        num_tokens: Tokens generated.
    """

    text: str
    finish_reason: str = "stop"
    num_tokens: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Cut `text` before the earliest stop string; return (text, whether a stop string was found)."""
    positions = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    if not positions:
        return text, False
    return text[: min(positions)], True


class LLM(ABC):
    """A text-completion model. Subclasses implement `_generate`.

    `generate(prompts, params)` returns one list of `params.n` completions per prompt, in order.
    `adapter` names a LoRA adapter registered with `add_adapter` (None: the base model).
    """

    #: Backend name (`hf`, `vllm`, `openai`).
    backend: str = ""
    #: Model id or path, for records.
    model_name: str = ""

    def generate(self, prompts: Sequence[str], params: SamplingParams | None = None, *, adapter: str | None = None,
                 **overrides: Any) -> list[list[Completion]]:
        """Sample `params.n` completions for every prompt (keyword overrides change `params`)."""
        if isinstance(prompts, str):
            raise TypeError("generate() takes a list of prompts; wrap a single prompt as [prompt].")
        params = (params or SamplingParams()).with_(**overrides) if overrides else (params or SamplingParams())
        if adapter is not None and adapter not in self.adapters:
            raise KeyError(f"Unknown adapter {adapter!r}; registered adapters: {sorted(self.adapters)} (add one with add_adapter).")
        if not prompts:
            return []
        return self._generate(list(prompts), params, adapter)

    @abstractmethod
    def _generate(self, prompts: list[str], params: SamplingParams, adapter: str | None) -> list[list[Completion]]:
        """Backend work; `prompts` is non-empty and `adapter` is registered or None."""

    # -- LoRA adapters ------------------------------------------------------------------------------
    @property
    def adapters(self) -> dict[str, str]:
        """Registered adapters: name -> folder."""
        return self.__dict__.setdefault("_adapters", {})

    def add_adapter(self, name: str, path: str) -> None:
        """Register a PEFT LoRA adapter folder under `name` (names must be unique per training round)."""
        if name in self.adapters and self.adapters[name] != str(path):
            raise ValueError(f"Adapter name {name!r} is already used for {self.adapters[name]}; give each round's adapter a new name.")
        self.adapters[name] = str(path)

    def close(self) -> None:
        """Release the model (and servers/engines it started)."""

    def __enter__(self) -> "LLM":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
