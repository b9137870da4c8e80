"""The request/answer channel (`Sandbox.run(..., on_request=...)`), on every backend."""

from __future__ import annotations

import time

from sandboxes.channel import CLIENT_SOURCE


def test_requests_are_answered_in_order(sandbox):
    program = CLIENT_SOURCE + "\nfor i in range(3):\n    print(channel_request('q%d' % i))\n"
    result = sandbox.run(program, on_request=str.upper, timeout=5)
    assert result.ok and result.stdout == "Q0\nQ1\nQ2\n"
    assert result.extra == {"requests": 3, "channel_error": None}


def test_text_round_trips_unchanged(sandbox):
    text = "line one\nline two \u00e9 \"quoted\" {json}"
    result = sandbox.run(CLIENT_SOURCE + f"\nprint(channel_request({text!r}) == {text[::-1]!r})", on_request=lambda s: s[::-1])
    assert result.stdout == "True\n"


def test_without_a_handler_the_program_is_told(sandbox):
    result = sandbox.run(CLIENT_SOURCE + "\nchannel_request('x')")
    assert result.exit_code == 1 and "ChannelClosed: this program was run without a channel" in result.stderr
    assert sandbox.run("print('plain runs are unchanged')").stdout == "plain runs are unchanged\n"


def test_time_in_the_handler_is_not_charged_to_the_program(sandbox):
    def slow(request: str) -> str:
        time.sleep(1.5)
        return "late"

    result = sandbox.run(CLIENT_SOURCE + "\nprint(channel_request('x'))", on_request=slow, timeout=1.0)
    assert result.ok and result.stdout == "late\n"


def test_a_failing_handler_answers_with_its_error(sandbox):
    result = sandbox.run(CLIENT_SOURCE + "\nprint(channel_request('x'))", on_request=lambda s: str(1 / 0))
    assert result.ok and result.stdout.startswith("error: ZeroDivisionError")


def test_oversized_request_closes_the_channel(sandbox):
    result = sandbox.run(CLIENT_SOURCE + "\nprint(channel_request('x' * 2_000_000))", on_request=len, timeout=5)
    assert result.exit_code == 1 and "ChannelClosed" in result.stderr
    assert "over the channel's limits" in result.extra["channel_error"]


def test_flooding_without_reading_answers_cannot_block_the_worker(sandbox):
    flood = ("\nimport os\nfd = int(os.environ['RERST_SANDBOX_CHANNEL'].split(',')[0])\n"
             "while True:\n    os.write(fd, b'\"spam\"\\n')\n")
    result = sandbox.run(CLIENT_SOURCE + flood, on_request=lambda s: "y" * 1000, timeout=3)
    assert not result.ok and result.extra["channel_error"] == "the program did not read its answers"
    assert sandbox.run("print('alive')").stdout == "alive\n"


def test_garbage_on_the_channel_closes_it(sandbox):
    garbage = "\nimport os\nfd = int(os.environ['RERST_SANDBOX_CHANNEL'].split(',')[0])\nos.write(fd, b'not json\\n')\n"
    result = sandbox.run(CLIENT_SOURCE + garbage, on_request=str, timeout=3)
    assert "JSON string" in result.extra["channel_error"]


def test_answers_larger_than_a_pipe_arrive_whole(sandbox):
    program = CLIENT_SOURCE + "\nprint(len(channel_request('big')))\n"
    result = sandbox.run(program, on_request=lambda s: "x" * 500_000, timeout=10)
    assert result.ok and result.stdout == "500000\n"
