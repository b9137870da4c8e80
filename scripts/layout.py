"""Re-ReST on rerest/Layout-v0.

    python scripts/layout.py                    # CPU preset (configs/layout-cpu.yaml): minutes on 2 cores
    python scripts/layout.py --preset paper     # the paper's settings (configs/layout-paper.yaml): GPU + vLLM
    python scripts/layout.py --set sample.k=8   # any config value
"""

from run_task import main

if __name__ == "__main__":
    main("layout", __doc__)
