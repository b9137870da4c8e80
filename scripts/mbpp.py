"""Re-ReST on rerest/MBPP-v0.

    python scripts/mbpp.py                    # CPU preset (configs/mbpp-cpu.yaml): minutes on 2 cores
    python scripts/mbpp.py --preset paper     # the paper's settings (configs/mbpp-paper.yaml): GPU + vLLM
    python scripts/mbpp.py --set sample.k=8   # any config value
"""

from run_task import main

if __name__ == "__main__":
    main("mbpp", __doc__)
