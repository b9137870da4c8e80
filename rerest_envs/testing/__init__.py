"""Checks for text envs beyond gymnasium's `check_env`: hostile input, linear time, determinism.

    import gymnasium, rerest_envs
    from rerest_envs.testing import check_text_env

    report = check_text_env("rerest/HotpotQA-v0")   # or an env instance, or your own registered id
    print(report)                                     # one line per check; raises EnvCheckFailed on failure

Nothing here imports pytest or the test suite; the checks are plain functions a user's CI can call.
"""

from rerest_envs.errors import EnvCheckFailed
from rerest_envs.testing.checker import check_text_env
from rerest_envs.testing.inputs import EXAMPLE_ACTIONS, Sized, adversarial_actions, fuzz_actions
from rerest_envs.testing.judge import step_problems
from rerest_envs.testing.report import CheckReport, CheckResult

__all__ = ["EXAMPLE_ACTIONS", "CheckReport", "CheckResult", "EnvCheckFailed", "Sized", "adversarial_actions", "check_text_env",
           "fuzz_actions", "step_problems"]
