"""Shared pytest setup for the rerest test suite."""

# ---- data location (owner: data layer / registry tests) -------------------------------------------
# Envs find their files through rerest_envs.data.resolve_data_dir; tests use the shared copy next to
# the checkout unless the caller already set RERST_DATA_DIR. Set at import time so that subprocesses
# started by tests (and collection-time imports) see it too.
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("RERST_DATA_DIR", str(REPO_ROOT.parent / "shared" / "data"))
# ---- end data location ------------------------------------------------------------------------------
