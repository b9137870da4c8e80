"""Re-ReST on rerest/HotpotQA-v0.

    python scripts/hotpotqa.py                    # CPU preset (configs/hotpotqa-cpu.yaml): minutes on 2 cores
    python scripts/hotpotqa.py --preset paper     # the paper's settings (configs/hotpotqa-paper.yaml): GPU + vLLM
    python scripts/hotpotqa.py --set sample.k=8   # any config value
"""

from run_task import main

if __name__ == "__main__":
    main("hotpotqa", __doc__)
