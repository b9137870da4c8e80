"""LoRA training (rerest_agents.train) on the real embedded gemma-3-270m, with tiny budgets."""

from __future__ import annotations

import json
import math
import shutil

import pytest

pytest.importorskip("trl")
pytest.importorskip("peft")

from rerest_agents.errors import ConfigError  # noqa: E402
from rerest_agents.llm.base import SamplingParams  # noqa: E402
from rerest_agents.train import TrainConfig, tokenize_sft, train_dpo, train_sft  # noqa: E402
from rerest_agents.train.data import IGNORE, supervised_text  # noqa: E402
from rerest_agents.train.trainer import DONE_MARKER, LOG_NAME  # noqa: E402

#: A ReAct-like record: the model's turns are trained, the observation between them is not.
REACT = {"prompt": "Question: Which city is the capital of France?\nThought 1:",
         "completion": " I should look it up.\nAction 1: Search[France]\nObservation 1: France's capital is Paris.\n"
                       "Thought 2: It is Paris.\nAction 2: Finish[Paris]",
         "segments": [{"text": " I should look it up.\nAction 1: Search[France]", "loss": True},
                      {"text": "\nObservation 1: France's capital is Paris.\nThought 2:", "loss": False},
                      {"text": " It is Paris.\nAction 2: Finish[Paris]", "loss": True}]}

#: A tiny task the base model does not do: always answer "zebra".
ZEBRA = [{"prompt": f"Q: name an animal ({i})\nA:", "completion": " zebra zebra zebra"} for i in range(8)]


def _future_warnings(recwarn) -> list[str]:
    """The FutureWarnings recorded so far, as `file:line: message`."""
    return [f"{w.filename}:{w.lineno}: {w.message}" for w in recwarn if issubclass(w.category, FutureWarning)]


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from rerest_agents.llm.embedded import embedded_model_dir

    return AutoTokenizer.from_pretrained(embedded_model_dir())


@pytest.mark.parametrize("field,value", [("lora_r", 0), ("learning_rate", -1.0), ("lora_dropout", 1.5),
                                         ("max_steps", 0), ("per_device_batch_size", 2.5), ("lora_target_modules", ()),
                                         ("trl_overrides", {"learning_rate": 1e-3}), ("trl_overrides", "bf16")])
def test_bad_config_values_give_one_line_errors(field, value):
    with pytest.raises(ConfigError) as info:
        TrainConfig(**{field: value})
    assert f"TrainConfig.{field}" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("override", [{}, {"gradient_checkpointing": True}, {"activation_checkpointing": True}])
def test_trl_arguments_use_the_installed_names_without_deprecation_warnings(tmp_path, recwarn, override):
    from trl import SFTConfig

    from rerest_agents.train.trainer import _common_args, _trl_config

    args = _trl_config(SFTConfig, _common_args(TrainConfig(), tmp_path), override)
    assert not _future_warnings(recwarn)
    # our default is off (TRL's is on); a user's override wins under either name
    expected = bool(override)
    assert getattr(args, "activation_checkpointing", args.gradient_checkpointing) is expected
    assert args.gradient_checkpointing is expected


def test_unknown_trl_override_is_a_one_line_error(tmp_path):
    with pytest.raises(ConfigError, match=r"trl_overrides: .*no_such_arg") as info:
        train_sft(ZEBRA, tmp_path, TrainConfig(trl_overrides={"no_such_arg": 1}))
    assert "\n" not in str(info.value)


def test_labels_cover_only_the_models_own_tokens(tokenizer):
    [example] = tokenize_sft([REACT], tokenizer, max_length=512)
    assert example["labels"][:len(tokenizer(REACT["prompt"])["input_ids"])] == [IGNORE] * len(tokenizer(REACT["prompt"])["input_ids"])
    own = "".join(s["text"] for s in REACT["segments"] if s["loss"])
    assert supervised_text(example, tokenizer) == own + tokenizer.eos_token
    # too long: the prompt loses its start, BOS and the whole completion stay
    [short] = tokenize_sft([{**REACT, "prompt": "filler " * 200 + REACT["prompt"]}], tokenizer, max_length=64)
    assert len(short["input_ids"]) == 64 and short["input_ids"][0] == tokenizer.bos_token_id
    assert supervised_text(short, tokenizer) == own + tokenizer.eos_token


@pytest.mark.slow
def test_loss_is_cross_entropy_over_supervised_positions_only(tokenizer):
    import torch

    from rerest_agents.train.trainer import _supervised_trainer_cls, load_for_training

    model, _ = load_for_training()
    examples = tokenize_sft([REACT, ZEBRA[0]], tokenizer, max_length=512)
    width = max(len(e["input_ids"]) for e in examples)
    ids = torch.tensor([e["input_ids"] + [0] * (width - len(e["input_ids"])) for e in examples])
    labels = torch.tensor([e["labels"] + [IGNORE] * (width - len(e["labels"])) for e in examples])
    attention = (torch.arange(width)[None] < torch.tensor([len(e["input_ids"]) for e in examples])[:, None]).long()
    loss = _supervised_trainer_cls().supervised_loss(model, {"input_ids": ids, "attention_mask": attention, "labels": labels})
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=attention).logits[:, :-1]
    manual = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1),
                                               ignore_index=IGNORE)
    assert math.isclose(loss.item(), manual.item(), rel_tol=1e-4)
    # the gradient reaches the LoRA weights
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for n, p in model.named_parameters() if "lora_" in n)


@pytest.mark.slow
def test_sft_learns_saves_an_adapter_the_hf_backend_uses_and_reruns_are_noops(tmp_path, llm, capsys, recwarn):
    config = TrainConfig(max_steps=5, per_device_batch_size=2, grad_accumulation=1, learning_rate=2e-3, max_length=32)
    adapter = train_sft(ZEBRA, tmp_path, config)
    assert "'loss'" not in capsys.readouterr().out  # the loss is on the bar, not a printed dict per step
    assert not _future_warnings(recwarn)  # nothing deprecated in the middle of the progress output
    assert (adapter / "adapter_model.safetensors").exists() and (adapter / DONE_MARKER).exists()
    rows = [json.loads(line) for line in (tmp_path / LOG_NAME).read_text().splitlines()]
    losses = [r["train/loss"] for r in rows if "train/learning_rate" in r]
    assert len(losses) == 5 and losses[-1] < losses[0] / 2, losses
    assert {"train/loss", "train/learning_rate", "train/epoch", "step"} <= set(rows[0])
    assert not list(tmp_path.glob("checkpoint-*"))  # checkpoints go once the adapter is final

    # re-running on a finished folder does nothing (no model load, no new log lines)
    marker = (adapter / DONE_MARKER).read_text()
    assert train_sft(ZEBRA, tmp_path, config) == adapter
    assert (adapter / DONE_MARKER).read_text() == marker and len((tmp_path / LOG_NAME).read_text().splitlines()) == len(rows)

    prompt = ["Q: name an animal (42)\nA:"]
    params = SamplingParams(max_tokens=4, temperature=0.0)
    before = llm.generate(prompt, params)[0][0].text
    llm.add_adapter(f"zebra-{tmp_path.name}", str(adapter))
    after = llm.generate(prompt, params, adapter=f"zebra-{tmp_path.name}")[0][0].text
    assert after != before and "zebra" in after, (before, after)
    assert llm.generate(prompt, params)[0][0].text == before  # adapter off again: the base model


@pytest.mark.slow
def test_killed_sft_resumes_from_its_last_checkpoint(tmp_path, monkeypatch):
    from rerest_agents.train import trainer as trainer_module

    config = TrainConfig(max_steps=2, save_steps=1, per_device_batch_size=2, grad_accumulation=1, max_length=32)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer_module, "_finish", killed)
    with pytest.raises(KeyboardInterrupt):
        train_sft(ZEBRA[:2], tmp_path, config)
    monkeypatch.undo()
    shutil.rmtree(tmp_path / "checkpoint-2")  # killed after step 2 was trained but before it was saved
    first = len((tmp_path / LOG_NAME).read_text().splitlines())
    adapter = train_sft(ZEBRA[:2], tmp_path, config)
    new = [json.loads(line) for line in (tmp_path / LOG_NAME).read_text().splitlines()[first:]]
    assert [r["step"] for r in new if "train/learning_rate" in r] == [2]  # only step 2 is trained again
    assert json.loads((adapter / DONE_MARKER).read_text())["global_step"] == 2


@pytest.mark.slow
def test_dpo_runs_two_steps_and_writes_an_adapter(tmp_path, capsys, recwarn):
    pairs = [{"prompt": f"Q: 2+{i}?\nA:", "chosen": f" {2 + i}", "rejected": f" {3 + i}"} for i in range(4)]
    adapter = train_dpo(pairs, tmp_path, TrainConfig(max_steps=2, per_device_batch_size=2, grad_accumulation=1,
                                                     max_length=32), beta=0.1)
    assert "'loss'" not in capsys.readouterr().out
    assert not _future_warnings(recwarn)
    assert (adapter / "adapter_model.safetensors").exists() and (adapter / DONE_MARKER).exists()
    assert not (adapter / "ref").exists()
    rows = [json.loads(line) for line in (tmp_path / LOG_NAME).read_text().splitlines()]
    assert any("train/rewards/margins" in r for r in rows)
    assert json.loads((adapter / DONE_MARKER).read_text())["global_step"] == 2
