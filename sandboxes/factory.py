"""`make_sandbox(name)`: build a backend by name, with a clear message for unknown names."""

from __future__ import annotations

import difflib
import importlib
from typing import Any

from sandboxes.base import Sandbox

#: backend name -> "module:Class"; docker is imported only when asked for (it needs the docker SDK).
BACKENDS: dict[str, str] = {
    "process": "sandboxes.process:ProcessSandbox",
    "docker": "sandboxes.docker.backend:DockerSandbox",
}


def make_sandbox(backend: str = "process", **kwargs: Any) -> Sandbox:
    """Build the sandbox backend `backend` (`process` or `docker`) with its keyword arguments."""
    if backend not in BACKENDS:
        close = difflib.get_close_matches(backend, BACKENDS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown sandbox backend {backend!r}; choose one of {sorted(BACKENDS)}.{hint}")
    module, cls = BACKENDS[backend].split(":")
    return getattr(importlib.import_module(module), cls)(**kwargs)
