"""Re-ReST on rerest/ALFWorld-v0 (household text games, ReAct).

    python scripts/alfworld.py                    # CPU preset (configs/alfworld-cpu.yaml): 8 games, k=2, 15 steps
    python scripts/alfworld.py --preset paper     # paper settings (configs/alfworld-paper.yaml): GPU + vLLM
    python scripts/alfworld.py --set sample.k=4   # any config value
"""

from run_task import main

if __name__ == "__main__":
    main("alfworld", __doc__)
