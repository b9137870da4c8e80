"""A second real hf model for tests that need two different ones: a tiny random Llama with gemma's tokenizer.

Built from a config (no hub access): 2 layers, 32 wide, the embedded gemma-3-270m's tokenizer copied
beside it, so it loads through `make_llm("hf", model=folder)` and trains with LoRA (it has q/k/v/o
projections) like any hub model. Its text is random.
"""

from __future__ import annotations

from pathlib import Path


def build_tiny_llama(out: Path) -> Path:
    """Write the tiny model to `out` (created) and return it."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from rerest_agents.llm.embedded import embedded_model_dir

    tokenizer = AutoTokenizer.from_pretrained(embedded_model_dir())
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, max_position_embeddings=2048, tie_word_embeddings=True,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    model = LlamaForCausalLM(config)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
