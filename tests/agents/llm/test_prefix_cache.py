"""Prefix caching in the hf backend: the same greedy text as the plain left-padded path on every task's
template (with and without a LoRA adapter), the same sampling distribution, a bounded store."""

from __future__ import annotations

import pytest

from rerest_agents.agent import Step, template_for
from rerest_agents.llm import SamplingParams
from rerest_agents.llm.prefix_cache import PrefixEntry, PrefixStore, common_prefix_length

ALFWORLD_ROOM = ("-= Welcome to TextWorld, ALFRED! =-\n\nYou are in the middle of a room. Looking quickly around you, you see "
                 "a cabinet 4, a cabinet 3, a cabinet 2, a cabinet 1, a countertop 1, a fridge 1, a microwave 1, a sinkbasin 1, "
                 "and a stoveburner 1.\n\nYour task is to: ")

# Observations of several lengths per template, so rows get different pads and suffix lengths.
OBSERVATIONS = {
    "rerest/Layout-v0": ["Prompt: two zebras and a mouse", "Prompt: a dog on the left of a bench",
                         "Prompt: three apples above a bowl, photographed from far away in soft light"],
    "rerest/MBPP-v0": ["Write a function to find the shared elements from the given two lists.\nYour code should pass these tests:"
                       "\n\nassert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))",
                       "Write a python function to check whether a number is even.\nassert is_even(2) == True"],
    "rerest/GQA-v0": ["Question: Is the cup to the left of the plate?", "Question: What color is the large car behind the tree?"],
    "rerest/HotpotQA-v0": ["Question: Which magazine was started first, Arthur's Magazine or First for Women?",
                           "Question: Were Pavel Urysohn and Leonid Levin known for the same type of work?"],
    "rerest/ALFWorld-v0": [ALFWORLD_ROOM + "put a clean apple in fridge.", ALFWORLD_ROOM + "heat some egg and put it in countertop.",
                           ALFWORLD_ROOM + "put a clean mug in cabinet."],
}


def _prompts(env_id: str) -> list[str]:
    template = template_for(env_id)
    prompts = [template.prompt(o) for o in OBSERVATIONS[env_id]]
    if template.style == "react":  # a later turn too: the episode so far lengthens the suffix
        prompts.append(template.prompt(OBSERVATIONS[env_id][0], [Step("I look first.\nAction 1: look", "You see a wall.")]))
    return prompts


def _both_paths(llm, prompts, params, adapter=None):
    llm.prefix_caching = False
    try:
        plain = llm.generate(prompts, params, adapter=adapter)
    finally:
        llm.prefix_caching = True
    cached = llm.generate(prompts, params, adapter=adapter)
    return [[c.text for c in cs] for cs in plain], [[c.text for c in cs] for cs in cached]


@pytest.mark.slow
@pytest.mark.parametrize("env_id", sorted(OBSERVATIONS))
def test_greedy_text_equals_the_plain_path_on_every_template(llm, env_id):
    prompts = _prompts(env_id)
    params = SamplingParams(max_tokens=10, stop=template_for(env_id).stop)
    before = llm.prefix_store.misses
    plain, cached = _both_paths(llm, prompts, params)
    assert cached == plain
    assert llm.prefix_store.misses == before + 1  # the shared prefix was computed once ...
    hits = llm.prefix_store.hits
    assert [[c.text for c in cs] for cs in llm.generate(prompts[:2], params)] == plain[:2]
    assert llm.prefix_store.hits == hits + 1  # ... and reused by the next call
    # n > 1 copies the cache after the shared prefill; greedy copies equal the plain text
    assert [[c.text for c in cs] for cs in llm.generate(prompts, params.with_(n=2))] == [[p[0]] * 2 for p in plain]


@pytest.mark.slow
def test_greedy_text_equals_the_plain_path_with_a_lora_adapter(llm, tmp_path):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from rerest_agents.llm.embedded import embedded_model_dir

    base = AutoModelForCausalLM.from_pretrained(embedded_model_dir(), dtype=torch.float32)
    lora = LoraConfig(r=4, lora_alpha=16, target_modules=["q_proj", "k_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(base, lora).save_pretrained(tmp_path / "adapter")
    del base
    llm.add_adapter("prefix-test-r4", str(tmp_path / "adapter"))
    prompts = _prompts("rerest/Layout-v0")
    params = SamplingParams(max_tokens=10, stop=template_for("rerest/Layout-v0").stop)
    plain, cached = _both_paths(llm, prompts, params, adapter="prefix-test-r4")
    assert cached == plain
    base_plain, base_cached = _both_paths(llm, prompts, params)
    assert base_cached == base_plain and base_plain != plain  # the adapter's KV is never served to the base model


@pytest.mark.slow
def test_samples_follow_the_models_distribution(llm):
    """First-token frequencies of many samples drawn through the cached prefix match the softmax."""
    import contextlib

    import torch

    prompts = _prompts("rerest/Layout-v0")[:2]
    n = 512
    out = llm.generate(prompts, SamplingParams(n=n, temperature=1.0, max_tokens=1, seed=3))
    for prompt, completions in zip(prompts, out):
        ids = llm.tokenizer([prompt], return_tensors="pt")
        base_model = getattr(llm.model, "disable_adapter", contextlib.nullcontext)  # an earlier test may have loaded LoRA
        with torch.inference_mode(), base_model():
            probs = torch.softmax(llm.model(**ids).logits[0, -1].float(), -1)
        top_p, top_ids = probs.topk(5)
        texts = [c.text for c in completions]
        for p, token in zip(top_p.tolist(), top_ids.tolist()):
            if p < 0.05:
                continue
            freq = sum(t == llm.tokenizer.decode([token]) for t in texts) / n
            assert abs(freq - p) < 4 * (p * (1 - p) / n) ** 0.5 + 0.01, (llm.tokenizer.decode([token]), freq, p)


def test_common_prefix_length():
    assert common_prefix_length([[1, 2, 3], [1, 2, 4], [1, 2]]) == 2
    assert common_prefix_length([[5], [6]]) == 0
    assert common_prefix_length([[1, 2, 3]]) == 3


def test_store_serves_the_longest_shared_start_per_adapter_and_stays_bounded():
    import torch

    def entry(tokens, size=4):
        kv = torch.zeros(1, 1, len(tokens), size)
        return PrefixEntry(tuple(tokens), [(kv, kv)])

    store = PrefixStore(max_entries=2)
    store.put(None, entry([1, 2, 3, 4]))
    store.put("a", entry([1, 2, 9]))
    found, shared = store.best(None, [1, 2, 3, 7])
    assert found.tokens == (1, 2, 3, 4) and shared == 3  # a longer entry serves a shorter prefix
    found, shared = store.best("a", [1, 2, 3, 7])
    assert found.tokens == (1, 2, 9) and shared == 2  # never another adapter's KV
    store.put(None, entry([8, 8]))  # over max_entries: the least recently used ([1, 2, 3, 4]) goes
    assert len(store) == 2 and store.best(None, [1, 2, 3])[0] is None and store.best("a", [1, 2])[1] == 2
    big = PrefixStore(max_entries=8, max_bytes=100)  # an entry of 2 tokens holds 2 x 2 x 4 float32s = 64 bytes
    big.put(None, entry([1, 2]))
    big.put(None, entry([3, 4]))
    assert len(big) == 1 and big.best(None, [3, 4])[1] == 2
