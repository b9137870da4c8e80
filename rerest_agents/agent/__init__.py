"""Agent prompts and action parsing: a template per env family, a generic one for the rest."""

from rerest_agents.agent.registry import generic_template, register_template, template_for
from rerest_agents.agent.template import AgentTemplate, Step, exemplar_template

__all__ = ["AgentTemplate", "Step", "exemplar_template", "generic_template", "register_template", "template_for"]
