"""Tiny randomly initialised models for the neural perception, built from configs (no hub access).

OWL-ViT (detection), ViLT (VQA, a small answer set) and CLIP (matching) with 32-wide, 2-layer towers,
64-pixel inputs, a byte-level CLIP tokenizer without merges and a small WordPiece vocabulary. Their
answers are random, but every code path of `NeuralPerception` runs on them as on real weights.
"""

from __future__ import annotations

import json
from pathlib import Path

#: The ViLT head's answers.
VQA_ANSWERS = ("yes", "no", "left", "right", "red", "blue", "man", "dog", "2")


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character table, which CLIP's tokenizer expects."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + list(range(ord("\xae"), ord("\xff") + 1))
    chars, extra = keep[:], 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(keep, (chr(c) for c in chars)))


def build_tiny_models(out: Path) -> dict[str, str]:
    """Write detector/, vqa/ and matcher/ under `out`; return the `neural=` settings that use them."""
    import torch
    from transformers import (BertTokenizer, CLIPConfig, CLIPModel, CLIPProcessor, CLIPTokenizer, OwlViTConfig,
                              OwlViTForObjectDetection, OwlViTProcessor, ViltConfig, ViltForQuestionAnswering, ViltProcessor)
    from transformers.models.clip import CLIPImageProcessorPil
    from transformers.models.owlvit import OwlViTImageProcessorPil
    from transformers.models.vilt import ViltImageProcessorPil

    torch.manual_seed(0)
    tok_dir = out / "clip_tokenizer"
    tok_dir.mkdir(parents=True, exist_ok=True)
    chars = list(_bytes_to_unicode().values())
    vocab = {c: i for i, c in enumerate(chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"])}
    (tok_dir / "vocab.json").write_text(json.dumps(vocab))
    (tok_dir / "merges.txt").write_text("#version: 0.2\n")
    clip_tok = CLIPTokenizer(str(tok_dir / "vocab.json"), str(tok_dir / "merges.txt"))
    text = dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                max_position_embeddings=64, bos_token_id=vocab["<|startoftext|>"], eos_token_id=vocab["<|endoftext|>"],
                pad_token_id=vocab["<|endoftext|>"])
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=64, patch_size=16)
    square = {"height": 64, "width": 64}

    detector = OwlViTForObjectDetection(OwlViTConfig(text_config=text, vision_config=vision, projection_dim=32))
    OwlViTProcessor(image_processor=OwlViTImageProcessorPil(size=square, crop_size=square), tokenizer=clip_tok).save_pretrained(out / "detector")
    detector.save_pretrained(out / "detector")

    matcher = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=32))
    CLIPProcessor(image_processor=CLIPImageProcessorPil(size={"shortest_edge": 64}, crop_size=square), tokenizer=clip_tok).save_pretrained(out / "matcher")
    matcher.save_pretrained(out / "matcher")

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"abcdefghijklmnopqrstuvwxyz0123456789?.,'", "what", "is", "the", "color", "this"]
    (out / "vilt_tokenizer").mkdir(exist_ok=True)
    (out / "vilt_tokenizer" / "vocab.txt").write_text("\n".join(words) + "\n")
    bert_tok = BertTokenizer(str(out / "vilt_tokenizer" / "vocab.txt"))
    vqa = ViltForQuestionAnswering(ViltConfig(
        vocab_size=len(words), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, image_size=64,
        patch_size=16, max_position_embeddings=64, max_image_length=16, num_labels=len(VQA_ANSWERS),
        id2label=dict(enumerate(VQA_ANSWERS)), label2id={a: i for i, a in enumerate(VQA_ANSWERS)}))
    ViltProcessor(image_processor=ViltImageProcessorPil(size={"shortest_edge": 64}, size_divisor=16), tokenizer=bert_tok).save_pretrained(out / "vqa")
    vqa.save_pretrained(out / "vqa")
    return {"detector": str(out / "detector"), "vqa": str(out / "vqa"), "matcher": str(out / "matcher"), "threshold": 0.0,
            "local_files_only": True}
