#!/usr/bin/env bash
# Set up a fresh machine for rerest: system tools (as root), a virtual environment, the packages.
#
#   bash dev/setup.sh            # .venv with rerest installed editable, plus the test extras
#
# Environment: PYTHON (interpreter for the venv, default python3), VENV (default .venv),
# RERST_EXTRAS (pip extras, default "dev,embedded,train,alfworld"; alfworld compiles fast-downward, ~3 min, needs g++/cmake/make). CPU installs use constraints/cpu.txt so that pip never
# pulls a multi-GB CUDA build of torch; GPU users install without it.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
EXTRAS="${RERST_EXTRAS:-dev,embedded,train,alfworld}"

say() { echo "setup.sh: $*" >&2; }

# bubblewrap gives the process sandbox its namespaces (no network, private file system).
if ! command -v bwrap >/dev/null 2>&1; then
    if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
        say "installing bubblewrap"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null
    else
        say "bubblewrap (bwrap) is missing: install it (e.g. 'sudo apt-get install bubblewrap');" \
            "until then the process sandbox runs without namespace isolation"
    fi
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
say "installing rerest[$EXTRAS]"
"$VENV/bin/python" -m pip install -q -c constraints/cpu.txt -e ".[$EXTRAS]"
say "ready: $VENV/bin/python"
