"""`NeuralPerception`: ImagePatch answers from transformers models on the image's pixels.

Three models, each a configurable hub id or local folder, loaded once per env on first use:
  * `detector` (zero-shot object detection, e.g. OWL-ViT) answers `find` / `exists`;
  * `vqa` (visual question answering, e.g. ViLT; a generative VQA model also works) answers
    `simple_query` and `verify_property` ("Is the <name> <property>?" -> yes);
  * `matcher` (image-text matching, e.g. CLIP) answers `best_text_match` and `text_score`.
This follows ViperGPT's split (GLIP, BLIP-2, X-VLM) with models that run on CPU. Every question
crops the patch out of the image (ViperGPT's bottom-origin box -> PIL's top-origin) before asking.
`compute_depth` uses the ground-plane proxy of `Perception` (no depth model).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from rerest_envs.errors import DependencyNotInstalled
from rerest_envs.gqa.perception.base import Box, Detection, Perception


#: Most boxes one `find` returns (highest scores first), as a detector's top-k would.
MAX_DETECTIONS = 50


@dataclass(frozen=True)
class NeuralConfig:
    """Models of the neural perception.

    Attributes:
        detector: Zero-shot object detector (hub id or folder) for `find`.
        vqa: Visual question answering model for `simple_query` and `verify_property`.
        matcher: Image-text model (CLIP-like) for `best_text_match` and `best_image_match`.
        device: Torch device (`cpu`, `cuda`, `cuda:1`).
        threshold: Lowest detection score `find` keeps.
        local_files_only: Never reach the hub (weights must be cached or local folders).
    """

    detector: str = "google/owlvit-base-patch32"
    vqa: str = "dandelin/vilt-b32-finetuned-vqa"
    matcher: str = "openai/clip-vit-base-patch32"
    device: str = "cpu"
    threshold: float = 0.1
    local_files_only: bool = False

    @classmethod
    def coerce(cls, value: "NeuralConfig | dict[str, Any] | None") -> "NeuralConfig":
        """Accept a config, a dict of its fields (unknown keys named in the error) or None (defaults)."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if not isinstance(value, dict):
            raise TypeError(f"neural= takes a NeuralConfig or a dict of its fields, got {type(value).__name__}.")
        known = {f.name for f in fields(cls)}
        unknown = set(value) - known
        if unknown:
            raise ValueError(f"Unknown neural perception setting(s) {sorted(unknown)}; valid: {sorted(known)}.")
        return cls(**value)


class NeuralModels:
    """The three models of a `NeuralConfig`, each loaded on first use and shared by every question."""

    def __init__(self, config: "NeuralConfig | dict[str, Any] | None" = None) -> None:
        self.config = NeuralConfig.coerce(config)
        self._loaded: dict[str, Any] = {}

    def _torch(self) -> Any:
        try:
            import torch
            import transformers  # noqa: F401
        except ImportError as e:
            raise DependencyNotInstalled('perception="neural" needs torch and transformers: pip install "rerest[train]"') from e
        return torch

    def get(self, role: str) -> Any:
        """(model, processor) for `detector`, `vqa` or `matcher`."""
        if role not in self._loaded:
            self._torch()
            from transformers import (AutoModel, AutoModelForVisualQuestionAnswering, AutoModelForZeroShotObjectDetection,
                                      AutoProcessor)

            kind = {"detector": AutoModelForZeroShotObjectDetection, "vqa": AutoModelForVisualQuestionAnswering,
                    "matcher": AutoModel}[role]
            name = getattr(self.config, role)
            local = self.config.local_files_only
            processor = AutoProcessor.from_pretrained(name, local_files_only=local)
            model = kind.from_pretrained(name, local_files_only=local).to(self.config.device).eval()
            self._loaded[role] = (model, processor)
        return self._loaded[role]

    def describe(self) -> dict[str, Any]:
        return asdict(self.config)


class NeuralPerception(Perception):
    """Perception from `NeuralModels` on one image file."""

    name = "neural"

    def __init__(self, image_path: str | Path, models: NeuralModels) -> None:
        from PIL import Image

        with Image.open(image_path) as img:
            self.image = img.convert("RGB")
        super().__init__(*self.image.size)
        self.models = models

    def _crop(self, box: Box) -> Any:
        self.check_deadline()  # before each model call: a run's perception time is enforced between calls
        left, lower, right, upper = box
        top, bottom = self.height - upper, self.height - lower
        left, top = max(0, int(left)), max(0, int(top))
        right, bottom = max(left + 1, min(self.width, int(round(right)))), max(top + 1, min(self.height, int(round(bottom))))
        return self.image.crop((left, top, right, bottom))

    def _vqa(self, box: Box, question: str) -> str:
        model, processor = self.models.get("vqa")
        torch = self.models._torch()
        inputs = processor(images=self._crop(box), text=question, return_tensors="pt", truncation=True).to(self.models.config.device)
        with torch.no_grad():
            if getattr(model.config, "id2label", None) and hasattr(model, "classifier"):
                logits = model(**inputs).logits
                return str(model.config.id2label[int(logits[0].argmax())])
            output = model.generate(**inputs, max_new_tokens=10)
        return processor.batch_decode(output, skip_special_tokens=True)[0].strip()

    def _match(self, box: Box, texts: list[str]) -> list[float]:
        model, processor = self.models.get("matcher")
        torch = self.models._torch()
        inputs = processor(text=texts, images=self._crop(box), return_tensors="pt", padding=True, truncation=True)
        with torch.no_grad():
            logits = model(**inputs.to(self.models.config.device)).logits_per_image[0]
        return [float(v) for v in logits]

    # -- the API ---------------------------------------------------------------------------------------
    def find(self, box: Box, ref: str | None, name: str) -> list[Detection]:
        model, processor = self.models.get("detector")
        torch = self.models._torch()
        crop = self._crop(box)
        label = "people" if name.strip().lower() == "person" else name  # ViperGPT's GLIP rewrite
        inputs = processor(text=[[label]], images=crop, return_tensors="pt", truncation=True).to(self.models.config.device)
        with torch.no_grad():
            outputs = model(**inputs)
        post = getattr(processor, "post_process_grounded_object_detection", None) or processor.post_process_object_detection
        # OWLv2 pads to a square before predicting, so its boxes are relative to the padded side.
        side = max(crop.height, crop.width)
        size = (side, side) if getattr(model.config, "model_type", "") == "owlv2" else (crop.height, crop.width)
        target = torch.tensor([size], device=model.device)
        result = post(outputs, threshold=self.models.config.threshold, target_sizes=target)[0]
        left0, top0 = max(0, int(box[0])), max(0, int(self.height - box[3]))
        found = []
        for score, (x1, y1, x2, y2) in sorted(zip(result["scores"].tolist(), result["boxes"].tolist()), key=lambda p: -p[0]):
            x1, x2 = sorted((min(max(x1, 0), crop.width), min(max(x2, 0), crop.width)))
            y1, y2 = sorted((min(max(y1, 0), crop.height), min(max(y2, 0), crop.height)))
            if x2 - x1 < 1 or y2 - y1 < 1:
                continue
            if len(found) == MAX_DETECTIONS:
                break
            found.append(Detection((left0 + x1, self.height - (top0 + y2), left0 + x2, self.height - (top0 + y1)),
                                   None, name, float(score)))
        return found

    def verify_property(self, box: Box, ref: str | None, name: str, prop: str) -> bool:
        return self._vqa(box, f"Is the {name} {prop}?").strip().lower() == "yes"

    def best_text_match(self, box: Box, ref: str | None, options: list[str], prefix: str | None) -> str:
        texts = [f"{prefix} {o}" if prefix else o for o in options]
        scores = self._match(box, texts)
        return options[max(range(len(options)), key=lambda i: scores[i])]

    def simple_query(self, box: Box, ref: str | None, question: str) -> str:
        return self._vqa(box, question)

    def text_score(self, box: Box, ref: str | None, text: str) -> float:
        return self._match(box, [text])[0]


__all__ = ["NeuralConfig", "NeuralModels", "NeuralPerception"]
