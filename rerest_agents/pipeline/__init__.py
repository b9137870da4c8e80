"""The Re-ReST pipeline: config, run directory, and the stages of a run (`rerest run`)."""

from rerest_agents.pipeline.config import EvalConfig, ModelConfig, ReflectorModelConfig, RunConfig, SampleConfig, load_config
from rerest_agents.pipeline.rundir import RunDir
from rerest_agents.pipeline.run import VARIANTS, Pipeline, RunResult, task_ids_of

__all__ = ["VARIANTS", "EvalConfig", "ModelConfig", "Pipeline", "ReflectorModelConfig", "RunConfig", "RunDir", "RunResult", "SampleConfig",
           "load_config", "task_ids_of"]
