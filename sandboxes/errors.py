"""Exceptions raised by `sandboxes`: one flat tree, one line each.

A program that crashes, loops or misbehaves is not an exception: it is an `ExecutionResult` that
says so. These are for the sandbox itself being unusable or misused.
"""


class SandboxError(Exception):
    """Base class of every error raised by `sandboxes`."""


class SandboxUnavailable(SandboxError):
    """The requested backend cannot run here (no dockerd, no bubblewrap, image missing, ...)."""


class DependencyNotInstalled(SandboxError, ImportError):
    """An optional dependency is missing; the message gives the pip line that installs it."""
