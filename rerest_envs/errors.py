"""Exceptions raised by rerest_envs: one flat tree, one line each.

Only mistakes of the caller raise (bad kwargs, missing data, step before reset). Whatever the agent
writes, however malformed, is answered with an observation and feedback instead.
"""


class RerestEnvError(Exception):
    """Base class of every error raised by rerest_envs."""


class DataNotFound(RerestEnvError):
    """A task's data is neither where the caller pointed nor in $RERST_DATA_DIR nor in the cache."""


class DownloadError(RerestEnvError):
    """Fetching official data failed (network, HTTP status or checksum mismatch)."""


class UnknownTask(RerestEnvError, KeyError):
    """`options["task_id"]` names no task of the loaded split."""

    def __str__(self) -> str:  # KeyError would print the message with quotes around it
        return str(self.args[0]) if self.args else ""


class ResetNeeded(RerestEnvError):
    """`step` was called before `reset` or after the episode ended."""


class DependencyNotInstalled(RerestEnvError, ImportError):
    """An optional dependency is missing; the message gives the pip line that installs it."""


class EnvCheckFailed(RerestEnvError, AssertionError):
    """`rerest_envs.testing.check_text_env` found a problem; the message lists each failed check and its input."""
