"""Rollouts: play episodes in batches, record them as JSONL, resume after a kill."""

from rerest_agents.rollout.engine import EpisodeSpec, Rollout, RolloutConfig, sample_specs
from rerest_agents.rollout.envs import feedback_dict, make_env
from rerest_agents.rollout.executors import EnvExecutor, ExecutorConfig, make_executor
from rerest_agents.rollout.records import RecordWriter, StepRecord, Trajectory, config_hash, iter_records, read_records

__all__ = ["EnvExecutor", "EpisodeSpec", "ExecutorConfig", "RecordWriter", "Rollout", "RolloutConfig", "StepRecord", "Trajectory",
           "config_hash", "feedback_dict", "iter_records", "make_env", "make_executor", "read_records", "sample_specs"]
