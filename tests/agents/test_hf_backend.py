"""The hf backend on the real embedded model (gemma-3-270m from its PyPI GGUF)."""

from __future__ import annotations

import pytest

from rerest_agents.llm import SamplingParams

pytestmark = pytest.mark.slow

PROMPT = "def add(a, b):\n    \"\"\"Return the sum of a and b.\"\"\"\n"


def test_greedy_is_deterministic_and_single_prefill_samples_match_it(llm):
    params = SamplingParams(max_tokens=12)
    first = llm.generate([PROMPT, "The capital of France is"], params)
    again = llm.generate([PROMPT], params)
    assert first[0][0].text == again[0][0].text and first[0][0].text.strip()
    # n > 1 takes the KV-cache-copy path; at temperature 0 every copy must equal the plain greedy text.
    copies = llm.generate([PROMPT], params.with_(n=3))[0]
    assert [c.text for c in copies] == [first[0][0].text] * 3


def test_several_prompts_with_n_share_one_batch_and_match_greedy(llm):
    params = SamplingParams(max_tokens=12)
    prompts = [PROMPT, "The capital of France is"]  # different lengths: the shared prefill is left-padded
    plain = [c[0].text for c in llm.generate(prompts, params)]
    both = llm.generate(prompts, params.with_(n=2))
    assert [[c.text for c in cs] for cs in both] == [[text] * 2 for text in plain]
    # more rows than batch_size: split into several batches, still n per prompt, in order
    many = llm.generate(prompts * 3, params.with_(n=3))
    assert [[c.text for c in cs] for cs in many] == [[text] * 3 for text in plain * 3]


def test_sampling_is_repeatable_with_a_seed_and_varied_across_samples(llm):
    params = SamplingParams(n=4, temperature=1.0, max_tokens=10, seed=7)
    a = [c.text for c in llm.generate([PROMPT], params)[0]]
    b = [c.text for c in llm.generate([PROMPT], params)[0]]
    assert a == b
    assert len(set(a)) > 1


def test_stop_strings_cut_the_text(llm):
    out = llm.generate(["1, 2, 3, 4, 5, 6, 7,"], SamplingParams(max_tokens=24, stop=(" 9",)))[0][0]
    assert " 9" not in out.text and out.finish_reason == "stop"
    assert llm.generate(["1, 2, 3,"], SamplingParams(max_tokens=3))[0][0].finish_reason == "length"


def test_lora_adapter_changes_the_output_and_can_be_switched_off(llm, tmp_path):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from rerest_agents.llm.embedded import embedded_model_dir

    base = AutoModelForCausalLM.from_pretrained(embedded_model_dir(), dtype=torch.float32)
    peft_model = get_peft_model(base, LoraConfig(r=4, lora_alpha=64, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    peft_model.save_pretrained(tmp_path / "adapter")
    del base, peft_model
    params = SamplingParams(max_tokens=8)
    plain = llm.generate([PROMPT], params)[0][0].text
    llm.add_adapter("random-r4", str(tmp_path / "adapter"))
    adapted = llm.generate([PROMPT], params, adapter="random-r4")[0][0].text
    assert adapted != plain
    assert llm.generate([PROMPT], params)[0][0].text == plain
    with pytest.raises(KeyError, match="Unknown adapter"):
        llm.generate([PROMPT], params, adapter="nope")
