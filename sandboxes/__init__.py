"""sandboxes: run untrusted Python programs in isolation (DESIGN §2).

Two backends behind one interface (`Sandbox.run(program, timeout=..., memory_mb=...) -> ExecutionResult`):
`process` (default; warm forked workers in bubblewrap namespaces) and `docker` (warm containers with
no network and a read-only root). `run_tests` runs a program against assert statements and returns
one verdict per test. This package imports neither `rerest_envs` nor `rerest_agents`.
"""

from sandboxes.base import Sandbox
from sandboxes.errors import DependencyNotInstalled, SandboxError, SandboxUnavailable
from sandboxes.factory import BACKENDS, make_sandbox
from sandboxes.process import ProcessSandbox
from sandboxes.result import ExecutionResult, Limits
from sandboxes.testing import TestOutcome, TestReport, run_tests

__all__ = [
    "BACKENDS", "DependencyNotInstalled", "ExecutionResult", "Limits", "ProcessSandbox", "Sandbox", "SandboxError",
    "SandboxUnavailable", "TestOutcome", "TestReport", "make_sandbox", "run_tests",
]
