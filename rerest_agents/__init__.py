"""rerest_agents: the agent/reflector harness of Re-ReST (LLM backends, rollouts, reflection, training).

It reaches environments only through `gymnasium.make`, so any env id a user registers runs too.
"""
