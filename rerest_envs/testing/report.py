"""What `check_text_env` found: one `CheckResult` per check, gathered in a printable `CheckReport`."""

from __future__ import annotations

from dataclasses import dataclass, field

from rerest_envs.errors import EnvCheckFailed

#: Failures listed per check in the report (the count of the rest follows).
SHOWN_FAILURES = 5


@dataclass
class CheckResult:
    """One check of `check_text_env`.

    Attributes:
        name: What was checked (`reset`, `fixed inputs`, `sized inputs`, `linear time`, `grammar fuzz`,
            `determinism`).
        steps: `env.step` calls made by this check (timing re-runs included).
        failures: One line per failure: the input (label and length) and what was wrong.
        slowest_s: The slowest step of this check, in seconds.
        slowest_input: The input of that step (label and length).
        notes: Facts worth reading even when the check passed (worst growth ratio, twin skipped).
    """

    name: str
    steps: int = 0
    failures: list[str] = field(default_factory=list)
    slowest_s: float = 0.0
    slowest_input: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def detail(self) -> str:
        """The failures (the first few) and notes, one per line."""
        shown = self.failures[:SHOWN_FAILURES]
        more = [f"... and {len(self.failures) - SHOWN_FAILURES} more failures"] if len(self.failures) > SHOWN_FAILURES else []
        return "\n".join(shown + more + self.notes)

    def timed(self, seconds: float, label: str) -> None:
        """Count one step of `seconds` on input `label`."""
        self.steps += 1
        if seconds >= self.slowest_s:
            self.slowest_s, self.slowest_input = seconds, label

    def __str__(self) -> str:
        head = f"{'PASS' if self.passed else 'FAIL'} {self.name}: {self.steps} steps"
        if self.steps:
            head += f", slowest {_ms(self.slowest_s)} ({self.slowest_input})"
        lines = [head] + [f"    {line}" for line in self.detail.splitlines()]
        return "\n".join(lines)


@dataclass
class CheckReport:
    """Everything `check_text_env` found about one env.

    Attributes:
        env_id: The env's id (`env.spec.id`), or its class name when it has no spec.
        checks: One `CheckResult` per check, in the order they ran.
        exceptions: Exceptions raised by `reset` or `step` (each is also a failure of its check).
        size: The longest input sent, in characters.
        seconds: Wall-clock time of the whole check.
    """

    env_id: str
    checks: list[CheckResult] = field(default_factory=list)
    exceptions: int = 0
    size: int = 0
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def actions(self) -> int:
        """`env.step` calls made in all."""
        return sum(c.steps for c in self.checks)

    @property
    def slowest(self) -> tuple[float, str]:
        """The slowest step of all checks: seconds and input."""
        worst = max(self.checks, key=lambda c: c.slowest_s, default=CheckResult(""))
        return worst.slowest_s, worst.slowest_input

    def __getitem__(self, name: str) -> CheckResult:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(f"No check named {name!r}; the checks are {[c.name for c in self.checks]}.")

    def summary(self) -> str:
        """One line: checks passed, actions, exceptions, slowest step."""
        seconds, label = self.slowest
        return (f"check_text_env({self.env_id}): {sum(c.passed for c in self.checks)} of {len(self.checks)} checks passed, "
                f"{self.actions} actions (up to {self.size:,} characters), {self.exceptions} exceptions, "
                f"slowest step {_ms(seconds)} ({label}), {self.seconds:.1f} s in all")

    def __str__(self) -> str:
        return "\n".join([self.summary(), *(f"  {c}" for c in self.checks)])

    def raise_if_failed(self) -> CheckReport:
        """Raise `EnvCheckFailed` (an AssertionError) naming every failed check; return self otherwise."""
        if not self.passed:
            failed = [c for c in self.checks if not c.passed]
            raise EnvCheckFailed(f"{self.env_id} failed {len(failed)} check(s): {', '.join(c.name for c in failed)}.\n{self}")
        return self


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"
