"""Exceptions raised by rerest_agents: one flat tree, one line each."""


class RerestAgentError(Exception):
    """Base class of every error raised by rerest_agents."""


class ModelNotFound(RerestAgentError):
    """A model id or folder cannot be loaded (missing files, no network for a hub id, ...)."""


class DependencyNotInstalled(RerestAgentError, ImportError):
    """An optional dependency is missing; the message gives the pip line that installs it."""


class ConfigError(RerestAgentError, ValueError):
    """A configuration value is invalid; the message names the field and the fix."""
