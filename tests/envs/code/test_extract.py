"""Program extraction from what models really write."""

from rerest_envs.code import extract_program


def test_fenced_block_with_prose_around_it():
    text = "Sure! Here is the code:\n```python\ndef f(x):\n    return x\n```\nThis returns x."
    assert extract_program(text) == ("def f(x):\n    return x", "fence")


def test_unclosed_fence_and_bare_fence():
    assert extract_program("```\ndef f():\n    pass")[0] == "def f():\n    pass"
    assert extract_program("```py\nx = 1\n```")[0] == "x = 1"


def test_picks_the_block_that_defines_the_entry_point():
    text = "```python\nprint(f(2))\n```\nand\n```python\ndef f(x):\n    return 2 * x\n```"
    assert extract_program(text, "f")[0] == "def f(x):\n    return 2 * x"


def test_python_and_begin_tags_with_or_without_closing():
    assert extract_program("[PYTHON]\ndef f():\n    return 1\n[/PYTHON]") == ("def f():\n    return 1", "python-tag")
    assert extract_program("[PYTHON]\ndef f():\n    return 1\n") == ("def f():\n    return 1", "python-tag")
    assert extract_program("[BEGIN]\ndef f():\n    return 1\n[DONE]")[1] == "begin-tag"


def test_bare_code():
    assert extract_program("def f():\n    return 1\n") == ("def f():\n    return 1", "bare")


def test_fence_reader_finds_what_the_old_regex_found():
    """The linear fence reader equals the regex it replaced (quadratic on ``` + spaces) on random texts."""
    import random
    import re

    from rerest_envs.code.extract import _fenced_blocks

    old = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n(.*?)(?:```|\Z)", re.S | re.I)
    rng = random.Random(0)
    pieces = ["```", "`", "\n", " ", "\t", "py", "Python", "python3", "x", "def f():", "PY "]
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        assert _fenced_blocks(text) == old.findall(text), repr(text)
