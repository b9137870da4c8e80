"""Re-ReST on rerest/GQA-v0 (ViperGPT-style visual programs).

    python scripts/gqa.py                    # CPU preset (configs/gqa-cpu.yaml): scene-graph questions, no image model
    python scripts/gqa.py --preset paper     # the paper's settings (configs/gqa-paper.yaml): GPU + vLLM + neural perception
    python scripts/gqa.py --set sample.k=8   # any config value
"""

from run_task import main

if __name__ == "__main__":
    main("gqa", __doc__)
