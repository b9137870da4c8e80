"""`rerest run CONFIG --dry-run`: every preset in configs/ validates and plans without a model; the
paper presets carry the paper's settings (../shared/research/paper.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rerest_agents.errors import ConfigError
from rerest_agents.pipeline import load_config
from rerest_agents.pipeline.plan import params_of, plan, render

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_config_dry_runs(path: Path, tmp_path: Path) -> None:
    """The CLI validates the config, builds both envs and prints the plan; no model module is
    imported, nothing is written, and the process exits 0."""
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['rerest', 'run', {str(path)!r}, '--dry-run', '--run-dir', {str(tmp_path / 'run')!r}]\n"
        "try:\n"
        "    from rerest_agents.cli import app\n"
        "    app()\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "loaded = [m for m in ('vllm', 'transformers', 'peft', 'trl', 'rerest_agents.llm.hf') if m in sys.modules]\n"
        "print('LOADED', loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout
    assert "config valid; no model loaded" in text
    assert "LOADED []" in text, text[-500:]
    assert not (tmp_path / "run").exists()
    for stage in ("sample", "reflect", "build_data", "train_agent_selftrain", "train_agent_rerest", "eval_base", "eval_rerest"):
        assert f"  {stage} " in text, stage
    assert "adapters to train" in text
    cfg = load_config(path)
    if cfg.model.backend == "vllm":
        assert "GPU" in text
        assert ("GPU-hours" in text) or ("DATA MISSING HERE" in text)


def test_plan_counts_on_layout_cpu() -> None:
    """The counts follow from the config and the split: 16 tasks x k=4, 128 test tasks, 1 turn each."""
    p = plan(load_config(REPO / "configs" / "layout-cpu.yaml"))
    assert (p.train.available, p.train.used, p.test.used, p.train.max_turns) == (1000, 16, 128, 1)
    stages = {s.name: s for s in p.stages}
    assert stages["sample"].episodes == 64 and stages["sample"].gen_tokens == 64 * 48
    assert stages["reflect"].gen_tokens == 64 * 4 * 48  # direct repairs (no reflection text), 4 tries at most
    reflective = plan(load_config(REPO / "configs" / "layout-cpu.yaml", {"reflect.direct": False, "reflect.attempts": 1}))
    assert {s.name: s for s in reflective.stages}["reflect"].gen_tokens == 64 * (96 + 48)
    assert stages["eval_base"].episodes == 128
    assert p.adapters == ["agent-selftrain", "agent-rerest"]  # the reflector is not trained: nothing would use it
    assert p.episodes == 64 + 64 * 4 + 3 * 128  # samples, repair tries at most, three evaluations
    assert p.gpu_hours() is None  # the embedded CPU preset gets no GPU figure
    assert stages["train_agent_selftrain"].train_steps == 32  # 64 examples x 2 epochs / batch 4


def test_plan_follows_overrides_and_rounds() -> None:
    cfg = load_config(REPO / "configs" / "layout-cpu.yaml", {"rounds": 2, "reflect_with_trained": True, "eval.dpo": True,
                                                             "sample.num_tasks": 3, "sample.k": 2, "train.max_steps": 1})
    p = plan(cfg)
    names = [s.name for s in p.stages]
    assert names.count("sample") == 1 and "sample-r2" in names and "reflect_trained-r2" in names
    assert "reflector" in p.adapters and "agent-dpo-r2" in p.adapters and "eval_dpo" in names
    assert all(s.train_steps == 1 for s in p.stages if s.adapter)
    assert {s.episodes for s in p.stages if s.name.startswith("sample")} == {6}


def test_paper_preset_gpu_hours_state_their_assumption() -> None:
    p = plan(load_config(REPO / "configs" / "layout-paper.yaml"))
    generate, train = p.gpu_hours()
    assert 0 < generate < 100 and 0 < train < 100
    text = "\n".join(render(p))
    assert "tokens/s for an 8B model" in text and "TFLOP/s" in text


def test_dry_run_rejects_a_bad_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("env_id: rerest/Layout-v0\nsample: {k: 2, temprature: 0.5}\n")
    out = subprocess.run([sys.executable, "-m", "rerest_agents.cli", "run", str(bad), "--dry-run"], capture_output=True, text=True,
                         timeout=60, cwd=REPO)
    assert out.returncode == 2 and "temperature" in out.stderr and "Traceback" not in out.stderr
    with pytest.raises(ConfigError, match="same tasks"):
        plan(load_config(None, {"test_env_kwargs": load_config(None).train_env_kwargs}))


def test_params_of_model_names() -> None:
    assert params_of("meta-llama/Meta-Llama-3-8B-Instruct") == 8.0
    assert params_of("codellama/CodeLlama-13b-Python-hf") == 13.0
    assert params_of("lmsys/vicuna-13b-v1.5") == 13.0
    assert params_of("google/gemma-3-270m") == pytest.approx(0.27)
    assert params_of(None) == pytest.approx(0.27)
    assert params_of("my-model") is None


# -- the paper presets carry the paper's settings (../shared/research/paper.md §2) ------------------
PAPER = {  # file: (model, lora_r, lora_alpha, targets, learning rate, epochs, effective batch, cutoff)
    "hotpotqa-paper.yaml": ("meta-llama/Meta-Llama-3-8B-Instruct", 8, 16, ["q_proj", "v_proj"], 3e-4, 3.0, 128, 512),
    "gqa-paper.yaml": ("codellama/CodeLlama-13b-Python-hf", 8, 16, ["q_proj", "v_proj"], 1e-4, 6.0, 128, 4096),
    "mbpp-paper.yaml": ("codellama/CodeLlama-13b-Python-hf", 8, 16, ["q_proj", "v_proj"], 3e-4, 3.0, 128, 1024),
    "layout-paper.yaml": ("lmsys/vicuna-13b-v1.5", 16, 32, ["q_proj", "k_proj", "v_proj", "o_proj"], 3e-4, 2.0, 128, 512),
    "alfworld-paper.yaml": ("meta-llama/Meta-Llama-3-8B-Instruct", 8, 16, ["q_proj", "v_proj"], 3e-4, 3.0, 128, 4096),
}


@pytest.mark.parametrize("name", sorted(PAPER))
def test_paper_presets_name_the_papers_settings(name: str) -> None:
    path = REPO / "configs" / name
    raw = yaml.safe_load(path.read_text())
    for key in ("k", "temperature"):  # named in the file, not left to defaults
        assert key in raw["sample"], key
    for key in ("lora_r", "learning_rate", "epochs"):
        assert key in raw["train"], key
    cfg = load_config(path)
    model, r, alpha, targets, lr, epochs, batch, cutoff = PAPER[name]
    t = cfg.train
    assert (cfg.model.backend, cfg.model.name) == ("vllm", model)
    assert (t.lora_r, t.lora_alpha, list(t.lora_target_modules), t.learning_rate, t.epochs) == (r, alpha, targets, lr, epochs)
    assert (t.per_device_batch_size * t.grad_accumulation, t.max_length) == (batch, cutoff)
    assert cfg.sample.temperature == 1.0  # the official code always samples at T=1.0
    assert cfg.reflect.attempts == 1 and cfg.reflect_with_trained  # one reflection per failure; the paper's loop
    assert "paper silent" in path.read_text()  # where the paper says nothing, the file says so


def test_gqa_paper_preset_micro_batch() -> None:
    """[C] gqa/README.md: micro-batch 4 (effective 128); the reflector is greedy and sees the gold answer."""
    cfg = load_config(REPO / "configs" / "gqa-paper.yaml")
    assert (cfg.train.per_device_batch_size, cfg.reflect.temperature, cfg.reflect.use_privileged) == (4, 0.0, True)
