"""Reflection: repair failed trajectories with the env's feedback, and re-verify the repairs."""

from rerest_agents.reflect.reflector import ReflectConfig, Reflector, failure_context, reflection_prompt, render_attempt, repair_context

__all__ = ["ReflectConfig", "Reflector", "failure_context", "reflection_prompt", "render_attempt", "repair_context"]
