"""The request/answer channel between a sandboxed program and its caller.

A program run with `Sandbox.run(program, on_request=handler)` may ask the caller questions while it
runs (an image model's answer, a database row): it sends a string, the caller's `handler` returns a
string. The channel is narrow on purpose: text in, text out, one request at a time, capped in size
and number, and nothing else of the caller is reachable. The same channel works on every backend,
because the worker relays it over the protocol it already speaks with the caller.

Sandboxed programs run on the standard library only and cannot import this package, so the client
side travels as source: prepend `CLIENT_SOURCE` to the program, then call `channel_request(text)`.
"""

from __future__ import annotations

#: Stdlib-only client code defining `channel_request(text: str) -> str` (raises `ChannelClosed`).
CLIENT_SOURCE = r'''
import json as _channel_json, os as _channel_os


class ChannelClosed(Exception):
    """The caller's channel is missing or was closed (limits exceeded, caller gone)."""


_channel_state = {"fds": None, "buffer": b""}


def _channel_fds():
    if _channel_state["fds"] is None:
        spec = _channel_os.environ.get("RERST_SANDBOX_CHANNEL", "")
        if "," not in spec:
            raise ChannelClosed("this program was run without a channel (Sandbox.run(..., on_request=...))")
        _channel_state["fds"] = tuple(int(v) for v in spec.split(",", 1))
    return _channel_state["fds"]


def channel_request(text):
    """Send `text` to the caller and return its answer (a str)."""
    out_fd, in_fd = _channel_fds()
    data = (_channel_json.dumps(str(text)) + "\n").encode()
    try:
        while data:
            data = data[_channel_os.write(out_fd, data):]
    except OSError as exc:
        raise ChannelClosed("the channel is closed (%s)" % exc) from None
    buffer = _channel_state["buffer"]
    while b"\n" not in buffer:
        chunk = _channel_os.read(in_fd, 1 << 16)
        if not chunk:
            raise ChannelClosed("the channel was closed by the sandbox (too many or too large requests?)")
        buffer += chunk
    line, _channel_state["buffer"] = buffer.split(b"\n", 1)
    return _channel_json.loads(line)
'''

__all__ = ["CLIENT_SOURCE"]
