#!/usr/bin/env bash
# The GPU check of rerest, unattended, in at most ~8 minutes on a machine with one CUDA GPU:
#   1. installs rerest[vllm,train] into a venv of its own (.venv-gpu; CUDA torch comes with vLLM),
#   2. vLLM with two LoRA adapters on the embedded gemma-3-270m: greedy output equal to the hf
#      backend's (fp32, base and each adapter), seeded sampling with an adapter (dev/gpu_check.py),
#   3. one reduced round of the Layout paper preset (configs/layout-paper.yaml) with vLLM sampling:
#      the embedded model instead of Vicuna-13B, 16 tasks x k=8, the paper's loop (trained reflector),
#      LoRA training on the GPU, evaluation of base / self-training / Re-ReST / DPO through vLLM.
# It prints one PASS/FAIL line per check and a summary, and exits 0 only when every check passed
# (2: no GPU or the install failed, before any check).
#
#   bash dev/gpu_check.sh                 # from the repository root or anywhere
#
# Environment: RERST_GPU_CHECK_BUDGET_S (default 470: steps are cut to what is left of it), PYTHON (default python3), VENV (default .venv-gpu), WORK (default /tmp/rerest-gpu-check),
# RERST_GPU_CHECK_SPEC (what pip installs, default ".[vllm,train]"); a machine without network needs
# the wheels at hand (PIP_FIND_LINKS=/wheels PIP_NO_INDEX=1) or a VENV where they are installed already.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv-gpu}"
WORK="${WORK:-/tmp/rerest-gpu-check}"
SPEC="${RERST_GPU_CHECK_SPEC:-.[vllm,train]}"
START=$SECONDS
#: the whole script stays under 8 minutes: each step gets at most what is left of this
BUDGET_S="${RERST_GPU_CHECK_BUDGET_S:-470}"
RESULTS=()

say() { echo "gpu_check.sh: $*"; }
elapsed() { echo "$((SECONDS - START)) s"; }
summary() {
    echo "================ gpu_check summary ($(elapsed)) ================"
    local line
    for line in "${RESULTS[@]}"; do echo "  $line"; done
}
fail_early() {  # no check could run: say why, how to fix it, exit 2
    say "FAIL: $*"
    RESULTS+=("FAIL $1")
    summary
    exit 2
}
left() { echo "$((BUDGET_S - (SECONDS - START)))"; }
# step NAME LIMIT_S CMD...: run one step under a time limit (and the budget left), record PASS/FAIL and its duration
step() {
    local name=$1 limit=$2 t0=$SECONDS rc=0
    shift 2
    if (($(left) < limit)); then limit=$(left); fi
    if ((limit < 20)); then
        RESULTS+=("FAIL $name: not run, the ${BUDGET_S} s budget is spent")
        return
    fi
    say "--- $name (at most $limit s)"
    timeout --kill-after=10 "$limit" "$@" || rc=$?
    if ((rc == 0)); then
        RESULTS+=("PASS $name ($((SECONDS - t0)) s)")
    elif ((rc == 124 || rc == 137)); then
        RESULTS+=("FAIL $name: ran past $limit s")
    else
        RESULTS+=("FAIL $name: exit status $rc ($((SECONDS - t0)) s)")
    fi
}

# -- 0. a CUDA GPU, or stop at once --------------------------------------------------------------
if ! command -v nvidia-smi >/dev/null 2>&1; then
    fail_early "no CUDA GPU here (nvidia-smi is not on PATH): run dev/gpu_check.sh on a machine with an NVIDIA GPU and its driver"
fi
if ! GPUS="$(nvidia-smi -L 2>&1)" || ! grep -q '^GPU [0-9]' <<<"$GPUS"; then
    fail_early "no CUDA GPU here (nvidia-smi -L: ${GPUS:-no output}): check the NVIDIA driver, or run on a machine with a GPU"
fi
say "GPU: $(head -n 1 <<<"$GPUS")"

# -- 1. install ----------------------------------------------------------------------------------
t0=$SECONDS
mkdir -p "$WORK"
if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating $VENV"
    "$PYTHON" -m venv "$VENV" || fail_early "install: $PYTHON -m venv $VENV failed"
fi
PY="$VENV/bin/python"
if "$PY" -c 'import vllm, peft, trl, rerest_agents' >/dev/null 2>&1; then
    say "$VENV already has vllm, peft, trl and rerest: no install"
else
    say "pip install -e '$SPEC' into $VENV (log: $WORK/pip.log)"
    # no constraints/cpu.txt here: vLLM pins its own CUDA build of torch
    if ! timeout 240 "$PY" -m pip install --quiet -e "$SPEC" >"$WORK/pip.log" 2>&1; then
        tail -n 20 "$WORK/pip.log"
        fail_early "install: pip install -e '$SPEC' failed or ran past 240 s (log: $WORK/pip.log)"
    fi
fi
if ! CUDA="$("$PY" -c 'import torch, vllm; assert torch.cuda.is_available(), "torch sees no GPU"; print(torch.__version__, vllm.__version__, torch.cuda.get_device_name(0))' 2>&1)"; then
    fail_early "install: torch/vllm in $VENV cannot use the GPU: $(tail -n 1 <<<"$CUDA")"
fi
RESULTS+=("PASS install: torch, vllm, GPU = $CUDA ($((SECONDS - t0)) s)")
say "torch, vllm, GPU: $CUDA"

# -- 2. vLLM + two LoRA adapters vs the hf backend -------------------------------------------------
step "vLLM vs hf: greedy equality, two LoRA adapters, sampling (dev/gpu_check.py)" 180 \
    "$PY" dev/gpu_check.py "$WORK"

# -- 3. one reduced round of the Layout paper preset with vLLM sampling -----------------------------
RUN="$WORK/layout-paper-round"
rm -rf "$RUN"
step "one reduced Layout paper-preset round with vLLM (rerest run configs/layout-paper.yaml)" 270 \
    "$PY" -m rerest_agents.cli run configs/layout-paper.yaml --run-dir "$RUN" --quiet \
    --set model.name=null --set 'model.kwargs={gpu_memory_utilization: 0.4, enforce_eager: true}' \
    --set sample.num_tasks=16 --set sample.k=8 --set sample.max_tokens=64 --set sample.width=128 \
    --set few_shot=true --set train.max_length=1024 --set train.max_steps=4 --set train.per_device_batch_size=4 \
    --set train.grad_accumulation=1 --set eval.num_tasks=32 --set eval.max_tokens=64 --set reflect.reflection_tokens=64
if [[ -f "$RUN/stages.json" ]]; then
    # every stage finished (done, or skipped with its reason); the eval records exist per variant
    if "$PY" - "$RUN" <<'EOF'
import json, sys
from pathlib import Path
run = Path(sys.argv[1])
stages = json.loads((run / "stages.json").read_text())
for name, s in stages.items():
    print(f"    {name:<24}{s['status']:<8}{s.get('seconds', 0):>7.1f} s  {s.get('note', '')[:90]}")
bad = [n for n, s in stages.items() if s["status"] not in ("done", "skipped")]
evals = [n for n in ("base", "selftrain", "rerest", "dpo") if (run / "records" / f"eval-{n}.jsonl").exists()]
trained = [p.parent.name for p in (run / "adapters").glob("*/adapter")] if (run / "adapters").exists() else []
print(f"    eval records: {evals}; adapters trained on the GPU: {trained}")
sys.exit(1 if bad or len(evals) < 4 else 0)
EOF
    then RESULTS+=("PASS round: every stage done or skipped with a reason, 4 variants evaluated")
    else RESULTS+=("FAIL round: a stage did not finish or a variant was not evaluated ($RUN/stages.json)")
    fi
fi

summary
if printf '%s\n' "${RESULTS[@]}" | grep -q '^FAIL'; then
    say "FAILED ($(elapsed))"
    exit 1
fi
say "all checks passed ($(elapsed))"
