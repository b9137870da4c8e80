"""`openai`: any OpenAI-compatible server through its `/v1/completions` endpoint.

Works with `vllm serve`, llama.cpp's server (`llama-server`, `python -m llama_cpp.server`) and
hosted APIs that still serve text completions. Completions, not chat: the agent writes the whole
prompt (few-shot ReAct text), and base models have no chat template (llama.cpp's chat endpoint falls
back to a llama-2 format and answers an empty string for gemma-3-270m base).

LoRA adapters follow vLLM serve's convention: the server loads them at start,
`vllm serve BASE --enable-lora --lora-modules round1=/path/to/adapter`, and a request names one in
its `model` field. So `add_adapter("round1", path)` registers the name, and
`generate(..., adapter="round1")` sends `model="round1"`. The path is only recorded, unless
`load_adapters=True`: then `add_adapter` also asks the server to load it at run time
(`POST /v1/load_lora_adapter`, vLLM serve started with `VLLM_ALLOW_RUNTIME_LORA_UPDATING=True`).

Client: the official `openai` package (`pip install "rerest[openai]"`), not raw HTTP: it brings the
retry policy these servers expect (backoff on 408/409/429/5xx and on dropped connections, honouring
`Retry-After`), typed errors per status, timeouts, auth headers and `extra_body` for server-specific
fields, all of which we would otherwise re-implement and test ourselves.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlparse

from rerest_agents.errors import DependencyNotInstalled, ModelNotFound, RerestAgentError
from rerest_agents.llm.base import LLM, Completion, SamplingParams, cut_at_stop


def _import_openai() -> Any:
    try:
        import openai
    except ImportError:
        raise DependencyNotInstalled('The openai backend needs the openai client: pip install "rerest[openai]".') from None
    return openai


class OpenAIBackend(LLM):
    """Client of an OpenAI-compatible completions server.

    Args:
        model: Model name the server serves (`vllm serve DIR` serves it as DIR unless
            `--served-model-name` is given; `GET {base_url}/models` lists the names).
        base_url: Server URL, e.g. `http://127.0.0.1:8000/v1`; a URL without a path gets `/v1`.
        api_key: Bearer token; default `$OPENAI_API_KEY`, else `EMPTY` (local servers started
            without `--api-key` accept anything).
        timeout: Seconds one request may take (CPU servers are slow: a 1,600-token ReAct prompt
            plus 128 tokens takes ~20 s on two cores).
        max_retries: Retries after a dropped connection, timeout, 429 or 5xx, with backoff.
        concurrency: Requests in flight at once. Prompts go out concurrently so that batching
            servers (vLLM) batch them; servers that serialize (llama.cpp without `--parallel`)
            queue them.
        load_adapters: Make `add_adapter` load the adapter into the server at run time (vLLM's
            `/v1/load_lora_adapter`); by default adapters must already be served (`--lora-modules`).
    """

    backend = "openai"

    def __init__(self, model: str, base_url: str, api_key: str | None = None, *, timeout: float = 600.0,
                 max_retries: int = 2, concurrency: int = 8, load_adapters: bool = False) -> None:
        openai = _import_openai()
        if concurrency < 1:
            raise ValueError(f"OpenAIBackend concurrency must be >= 1, got {concurrency}.")
        parsed = urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"OpenAIBackend base_url must look like http://HOST:PORT/v1, got {base_url!r}.")
        if parsed.path in ("", "/"):
            base_url = base_url.rstrip("/") + "/v1"
        self.model_name = model
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.load_adapters = load_adapters
        self.client = openai.OpenAI(base_url=self.base_url, api_key=api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY",
                                    timeout=timeout, max_retries=max_retries)
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="rerest-openai")
        # None: not known yet; False: the server answered fewer than n choices (or refused n > 1).
        self._n_supported: bool | None = None
        self._lock = threading.Lock()

    # -- adapters -----------------------------------------------------------------------------------
    def add_adapter(self, name: str, path: str) -> None:
        """Register adapter `name` (served by the server under that name); see the module docstring."""
        super().add_adapter(name, path)
        if self.load_adapters:
            try:
                self.client.post("/load_lora_adapter", body={"lora_name": name, "lora_path": str(path)}, cast_to=str)
            except Exception as exc:  # noqa: BLE001 - turned into one line below
                del self.adapters[name]
                raise self._error(exc, name, what=f"loading adapter {name!r} from {path}") from None

    # -- generation ---------------------------------------------------------------------------------
    def _generate(self, prompts: list[str], params: SamplingParams, adapter: str | None) -> list[list[Completion]]:
        model = adapter or self.model_name
        futures = [self._pool.submit(self._samples, prompt, params, model) for prompt in prompts]
        return [future.result() for future in futures]

    def _samples(self, prompt: str, params: SamplingParams, model: str) -> list[Completion]:
        """params.n completions of one prompt: one request with n, or n requests if the server ignores n."""
        if params.temperature == 0:  # greedy samples are identical: ask for one
            return self._request(prompt, params, model, n=1, seed=params.seed) * params.n
        completions: list[Completion] = []
        if params.n > 1 and self._n_supported is not False:
            try:
                completions = self._request(prompt, params, model, n=params.n, seed=params.seed)
            except _NRefused:
                # n=1 raises the server's real error if the 400 was about something else
                completions = self._request(prompt, params, model, n=1, seed=params.seed)
            with self._lock:
                if self._n_supported is None or len(completions) < params.n:
                    self._n_supported = len(completions) >= params.n
        # One request per missing sample; seeds are offset so that seeded samples differ.
        while len(completions) < params.n:
            i = len(completions)
            seed = None if params.seed is None else params.seed + i
            completions += self._request(prompt, params, model, n=1, seed=seed)
        return completions[:params.n]

    def _request(self, prompt: str, params: SamplingParams, model: str, *, n: int, seed: int | None) -> list[Completion]:
        openai = _import_openai()
        kwargs: dict[str, Any] = {"model": model, "prompt": prompt, "max_tokens": params.max_tokens,
                                  "temperature": params.temperature, "n": n}
        if params.temperature > 0:
            kwargs["top_p"] = params.top_p
        if params.stop:
            kwargs["stop"] = list(params.stop)
        if seed is not None:
            kwargs["seed"] = seed
        try:
            response = self.client.completions.create(**kwargs)
        except openai.BadRequestError as exc:
            if n > 1:  # some servers accept only n=1: fall back to one request per sample
                raise _NRefused() from exc
            raise self._error(exc, model) from None
        except openai.OpenAIError as exc:
            raise self._error(exc, model) from None
        usage = getattr(response, "usage", None)
        tokens = getattr(usage, "completion_tokens", 0) or 0
        out = []
        for choice in sorted(response.choices, key=lambda c: c.index):
            # Servers drop the stop string themselves; cut again for those that keep it.
            text, _ = cut_at_stop(choice.text or "", params.stop)
            out.append(Completion(text=text, finish_reason="length" if choice.finish_reason == "length" else "stop",
                                  num_tokens=tokens if len(response.choices) == 1 else 0,
                                  extra={"request_completion_tokens": tokens}))
        return out

    def _error(self, exc: Exception, model: str, what: str = "") -> RerestAgentError:
        """One-line error naming the URL, what went wrong and the fix."""
        openai = _import_openai()
        where = f"the OpenAI-compatible server at {self.base_url}"
        doing = f" while {what}" if what else ""
        detail = _server_message(exc)
        if isinstance(exc, openai.APITimeoutError):
            return RerestAgentError(f"Request to {where} timed out after {self.timeout:g} s{doing}; raise "
                                    "OpenAIBackend(timeout=...) or check that the server is not overloaded.")
        if isinstance(exc, openai.APIConnectionError):
            return RerestAgentError(f"Cannot connect to {where}{doing} ({detail}); start the server (e.g. "
                                    "`vllm serve MODEL --host 127.0.0.1 --port 8000`) or fix base_url.")
        if isinstance(exc, openai.AuthenticationError):
            return RerestAgentError(f"{where} rejected the API key (401{doing}: {detail}); set OPENAI_API_KEY or "
                                    "pass api_key=.")
        if isinstance(exc, openai.NotFoundError) and what:
            return ModelNotFound(f"{where} answered 404{doing} ({detail}); give an adapter folder the server can "
                                 "read, and start the server with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True (or serve the "
                                 "adapter with --lora-modules NAME=PATH and use load_adapters=False).")
        if isinstance(exc, openai.NotFoundError):
            served = self._served_models()
            listing = f"it serves {served}" if served else f"check base_url (it should end in /v1)"
            return ModelNotFound(f"{where} has no model {model!r} (404{doing}: {detail}); {listing}. Pass one as "
                                 "model=, or serve adapters with `vllm serve BASE --enable-lora --lora-modules "
                                 "NAME=PATH`.")
        if isinstance(exc, openai.APIStatusError):
            return RerestAgentError(f"{where} answered {exc.status_code}{doing}: {detail}; fix the request "
                                    "parameters or the server's limits (e.g. --max-model-len).")
        return RerestAgentError(f"Request to {where} failed{doing}: {detail}.")

    def _served_models(self) -> list[str]:
        try:
            return sorted(m.id for m in self.client.with_options(max_retries=0, timeout=10).models.list())
        except Exception:  # noqa: BLE001 - only a hint for an error message
            return []

    def close(self) -> None:
        """Stop the request threads and close the HTTP client; safe to call twice."""
        pool = self.__dict__.pop("_pool", None)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
            self.client.close()


class _NRefused(Exception):
    """The server refused a request with n > 1."""


def _server_message(exc: Exception) -> str:
    """The server's own error message, on one line."""
    body = getattr(exc, "body", None)
    message = None
    if isinstance(body, dict):
        inner = body.get("error")
        message = body.get("message") or (inner.get("message") if isinstance(inner, dict) else inner)
    if not message:
        message = str(exc)
        cause = exc.__cause__ or exc.__context__
        if cause is not None and message in ("Connection error.", "Request timed out."):
            message = f"{message.rstrip('.')}: {cause}"
    return " ".join(str(message).split())[:300]
