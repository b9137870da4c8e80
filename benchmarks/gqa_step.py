"""Env time of one GQA-v0 step (scene-graph perception), as a ratio against running the program unsandboxed.

What a step costs: building the launcher, a forked sandbox child, each perception call crossing the
sandbox channel (child -> worker -> env -> worker -> child), and scoring. The baseline, measured in
the same process on the same 33 hand-written programs, is the unsafe floor: `exec` of the program
in this process with the perception called directly (what a step would cost with no isolation at
all). A third row gives one channel round trip (a program sending 1,000 requests to an echo handler).

    python benchmarks/gqa_step.py                 # 33 programs x 5 repeats, process sandbox
    python benchmarks/gqa_step.py --sandbox docker
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RERST_DATA_DIR", str(ROOT.parent / "shared" / "data"))

import gymnasium  # noqa: E402

import rerest_envs  # noqa: E402,F401
from rerest_envs.gqa import PerceptionServer, SceneGraphPerception, api_source  # noqa: E402
from benchmarks.layout_step import best_of  # noqa: E402  (same estimator as the other env benchmarks)
from tests.envs.gqa.programs import PROGRAMS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox", default="process", choices=("process", "docker"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    env = gymnasium.make("rerest/GQA-v0", sandbox=args.sandbox)
    raw = env.unwrapped
    ids = sorted(PROGRAMS)
    api: dict[str, object] = {}
    exec(compile(api_source(), "<image_patch>", "exec"), api)  # noqa: S102 - the unsafe baseline, our own programs

    def in_process() -> None:
        for task_id in ids:
            server = PerceptionServer(SceneGraphPerception(raw.questions[task_id].graph))
            image = api["Image"](server.perception.width, server.perception.height,
                                 lambda m, b, r, a, s=server: s.call(m, tuple(b), r, a))
            namespace = {k: api[k] for k in api["__all__"]}
            exec(compile(PROGRAMS[task_id], "<solution>", "exec"), namespace)  # noqa: S102
            assert namespace["execute_command"](image) == raw.questions[task_id].answer

    def sandboxed() -> None:
        for task_id in ids:
            raw.reset(options={"task_id": task_id})
            assert raw.step(PROGRAMS[task_id])[1] == 1.0

    from sandboxes.channel import CLIENT_SOURCE

    echo = CLIENT_SOURCE + "\nfor _ in range(1000):\n    channel_request('x')\n"

    def channel() -> None:
        assert raw._open_sandbox().run(echo, on_request=str, timeout=60).extra["requests"] == 1000

    sandboxed()  # warm the worker
    calls = 0
    for task_id in ids:
        raw.reset(options={"task_id": task_id})
        calls += len(raw.step(PROGRAMS[task_id])[4]["feedback"].details["perception_calls"])
    base = best_of(args.repeats, in_process) / len(ids)
    step = best_of(args.repeats, sandboxed) / len(ids)
    trip = best_of(args.repeats, channel) / 1000
    print(f"GQA-v0 step, {len(ids)} scene-graph programs ({calls / len(ids):.1f} perception calls each), "
          f"{args.sandbox} sandbox ({raw._open_sandbox().isolation})")
    print(f"{'in-process exec, no isolation (baseline)':<48} {base * 1000:8.2f} ms/step   1.00x")
    print(f"{'env.step: sandboxed program + channel':<48} {step * 1000:8.2f} ms/step  {step / base:5.1f}x")
    print(f"{'one channel round trip':<48} {trip * 1000:8.3f} ms")
    env.close()


if __name__ == "__main__":
    main()
