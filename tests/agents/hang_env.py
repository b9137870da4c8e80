"""A user env whose step hangs on the action `hang` (until `RELEASE` is set), for the step-timeout tests.

Its own module so that the Ray test can ship it to actors by value (cloudpickle).
"""

from __future__ import annotations

import threading

import gymnasium

#: Set to let hung steps return (so that a test leaves no thread behind).
RELEASE = threading.Event()
HANG_SECONDS = 120.0


class HangEnv(gymnasium.Env):
    metadata = {"render_modes": []}

    def __init__(self) -> None:
        self.observation_space = gymnasium.spaces.Text(200, charset="abcdefghijklmnopqrstuvwxyz0123456789 .:")
        self.action_space = gymnasium.spaces.Text(200)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.task = str((options or {}).get("task_id", "0"))
        return f"task {self.task}: say hang or done.", {}

    def step(self, action):
        if "hang" in action:
            RELEASE.wait(HANG_SECONDS)
        return "finished.", 1.0, True, False, {}
