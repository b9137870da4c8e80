"""The actions `check_text_env` sends: hostile text of every kind, sized, and fuzzed grammar examples.

Three families, all deterministic (no input depends on anything but `size`, the examples and the seed):

- `adversarial_actions(examples)`: a fixed catalogue. Most entries are *sized*: a function of
  the length `n` (whitespace runs of every kind, brackets nested and unbalanced, digit runs, lone
  surrogates, control characters, many lines, many boxes, each example repeated or buried in
  whitespace), so the checker can send them at growing lengths and see how step time grows. The
  rest are short fixed strings (the empty action, format strings, fake observations).
- `fuzz_actions(examples, n, seed)`: the env's own grammar mutated by a seeded generator (whitespace
  runs inserted, spans duplicated or cut, brackets doubled, digits lengthened, surrogates and control
  characters inserted, examples spliced together).
- `EXAMPLE_ACTIONS`: well-formed actions of every `rerest/` id, the seeds of the fuzzer; a user's env
  passes its own (`check_text_env(env, examples=[...])`).
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: Well-formed actions of each rerest id (from the Action Space section of each env's manual).
EXAMPLE_ACTIONS: dict[str, tuple[str, ...]] = {
    "rerest/HotpotQA-v0": ("Search[Scott Derrickson]", "Lookup[nationality]", "Thought: he is American.\nAction 2: Search[Ed Wood]",
                           "Finish[yes]"),
    "rerest/Layout-v0": ("dog (2), frisbee (1)", "dog [(10, 40, 45, 90), (55, 42, 90, 88)] frisbee [(40, 5, 55, 20)]",
                         "two persons and a bench"),
    "rerest/MBPP-v0": ("```python\ndef similar_elements(a, b):\n    return tuple(set(a) & set(b))\n```",
                       "[PYTHON]\ndef f(x):\n    return [i * 2 for i in range(x)]\n[/PYTHON]", "def f(x): return x"),
    "rerest/HumanEval-v0": ("```python\ndef has_close_elements(numbers, threshold):\n    return any(abs(a - b) < threshold "
                            "for i, a in enumerate(numbers) for b in numbers[i + 1:])\n```", "    return sorted(set(l))"),
    "rerest/GQA-v0": ("```python\ndef execute_command(image) -> str:\n    image_patch = ImagePatch(image)\n"
                      "    man_patches = image_patch.find(\"man\")\n    if not man_patches:\n"
                      "        return image_patch.simple_query(\"Is this an old man?\")\n"
                      "    return bool_to_yesno(man_patches[0].verify_property(\"man\", \"old\"))\n```",
                      "return ImagePatch(image).simple_query('What color is the sky?')"),
    "rerest/ALFWorld-v0": ("go to countertop 1", "open fridge 1", "take apple 1 from fridge 1", "put apple 1 in/on countertop 1",
                           "look", "inventory", "think: first I need to find an apple."),
}
#: Examples for an env nobody described: text any parser must survive.
GENERIC_EXAMPLES = ("look", "I don't know", "Action: answer[42]")

#: Whitespace of every kind Python's `str.isspace` or a regex `\s` knows, plus look-alikes that are not.
WHITESPACE: dict[str, str] = {
    "spaces": " ",
    "tabs": "\t",
    "newlines": "\n",
    "CRLF": "\r\n",
    "newline-space pairs": "\n ",
    "tabs and no-break spaces": "\t\xa0",
    "unicode spaces": "\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000",
    "line and paragraph separators": "\u2028\u2029\x85",
    "vertical tabs, form feeds, file separators": "\x0b\x0c\x1c\x1d\x1e\x1f",
    "zero-width characters": "\u200b\u200c\u200d\u2060\ufeff",
}
SURROGATES = ("\ud800", "\udbff", "\udc00", "\udfff")
CONTROLS = "".join(chr(c) for c in range(32) if chr(c) not in "\t\n\r") + "\x7f\x80\x9b\x9f"
BRACKETS = "[](){}<>"


@dataclass(frozen=True)
class Sized:
    """A hostile input of any length: `make(n)` is about `n` characters long."""

    label: str
    make: Callable[[int], str]


def _fill(unit: str, n: int, prefix: str = "", suffix: str = "") -> str:
    """`prefix` + `unit` repeated to about `n` characters + `suffix`."""
    return prefix + unit * max(1, (n - len(prefix) - len(suffix)) // max(1, len(unit))) + suffix


def _runs(unit: str) -> Callable[[int], str]:
    return lambda n: _fill(unit, n)


def _sized_catalogue(examples: Sequence[str], seed: int) -> list[Sized]:
    out: list[Sized] = []
    for name, unit in WHITESPACE.items():
        out.append(Sized(name, _runs(unit)))
        # A run then a non-space: what makes `\s+$`, `\s*x` and `(\s+and\s+)` backtrack.
        out.append(Sized(f"{name}, then a letter", lambda n, u=unit: _fill(u, n, suffix="x")))
    out += [
        Sized("one long word", _runs("a")),
        Sized("words", _runs("word ")),
        Sized("random printable text", lambda n: "".join(random.Random(seed).choices(string.printable, k=n))),
        Sized("emoji", _runs("\U0001f600")),
        Sized("combining marks", _runs("e\u0301")),
        Sized("right-to-left overrides", _runs("\u202eabc")),
        Sized("opening brackets", _runs("[")),
        Sized("closing brackets", _runs("]")),
        Sized("nested brackets", lambda n: "[" * (n // 2) + "]" * (n // 2)),
        Sized("nested parentheses", lambda n: "(" * (n // 2) + ")" * (n // 2)),
        Sized("unbalanced box openers", _runs("[(")),
        Sized("an open box then spaces, then a letter", lambda n: _fill(" ", n, prefix="dog [(1", suffix="x")),
        Sized("random brackets", lambda n: "".join(random.Random(seed + 1).choices(BRACKETS, k=n))),
        Sized("code fences", _runs("```python\n")),
        Sized("quotes", _runs("\"'")),
        Sized("lone surrogates", _runs("".join(SURROGATES))),
        Sized("lone surrogates between letters", _runs("a\ud800b\udfff")),
        Sized("NUL characters", _runs("\x00")),
        Sized("control characters", _runs(CONTROLS)),
        Sized("ANSI escapes", _runs("\x1b[31m")),
        Sized("a digit run", _runs("9")),
        Sized("a negative digit run", lambda n: _fill("9", n, prefix="-")),
        Sized("a decimal digit run", lambda n: _fill("9", n, prefix="0.")),
        Sized("an exponent digit run", lambda n: _fill("9", n, prefix="1e")),
        Sized("Arabic-Indic digits", _runs("\u0663")),
        Sized("fullwidth digits", _runs("\uff19")),
        Sized("a box with a long coordinate", lambda n: _fill("9", n, prefix="dog [(", suffix=", 1, 2, 3)]")),
        Sized("a count of many digits", lambda n: _fill("9", n, prefix="dog (", suffix=")")),
        Sized("many short lines", _runs("x\n")),
        Sized("many empty lines then text", lambda n: _fill("\n", n, suffix="Action: x")),
        Sized("many boxes", lambda n: _fill("(10, 10, 20, 20), ", n, prefix="dog [", suffix="]")),
        Sized("many named boxes", lambda n: _fill("thing [(1, 2, 3, 4)] ", n)),
        Sized("many counts", _runs("dog (1), ")),
        Sized("many 'and's", _runs(" and")),
        Sized("'andy' after spaces", _runs("  andy")),
        Sized("many Action markers", _runs("Action: ")),
        Sized("many starred Action lines", _runs("** Action 1 **:\n")),
    ]
    for i, example in enumerate(examples[:4]):
        short = _short(example)
        out += [
            Sized(f"example {i} ({short}) repeated", _runs(example)),
            Sized(f"example {i} ({short}) on many lines", _runs(example + "\n")),
            Sized(f"example {i} ({short}), then newlines", lambda n, e=example: _fill("\n", n, prefix=e)),
            Sized(f"example {i} ({short}), then spaces and a letter", lambda n, e=example: _fill(" ", n, prefix=e, suffix="x")),
            Sized(f"example {i} ({short}) after spaces", lambda n, e=example: _fill(" ", n, suffix=e)),
            Sized(f"example {i} ({short}) with its brackets nested", lambda n, e=example: _nest(e, n)),
            Sized(f"example {i} ({short}) with its digits lengthened", lambda n, e=example: _long_digits(e, n)),
        ]
    return out


def _fixed_catalogue(examples: Sequence[str]) -> dict[str, str]:
    out = {
        "the empty action": "",
        "one space": " ",
        "one lone surrogate": "\ud800",
        "a reversed surrogate pair": "\udc00\ud800",
        "one NUL": "\x00",
        "format strings": "{} {0} {0.__class__} %s %d %n {{}} $x ${x}",
        "a fake observation": "Observation: You won. Reward: 1.0\nsuccess: True",
        "code that touches the host": "__import__('os').system('echo hi')",
        "JSON": '{"success": true, "score": 1.0}',
        "a null byte in brackets": "Search[\x00]",
        "a big float": "1e999",
        "not a number": "nan",
    }
    for i, example in enumerate(examples[:4]):
        short = _short(example)
        out[f"example {i} ({short})"] = example
        out[f"example {i} ({short}) cut in half"] = example[: len(example) // 2]
        out[f"example {i} ({short}) with a lone surrogate"] = _insert(example, len(example) // 2, "\ud800")
        out[f"example {i} ({short}) with control characters"] = _insert(example, len(example) // 2, "\x00\x1b[2J\x7f")
        out[f"example {i} ({short}) with odd whitespace"] = "".join("\t\xa0\u3000" if c == " " else c for c in example)
        out[f"example {i} ({short}) in upper case"] = example.upper()
        out[f"example {i} ({short}) twice on one line"] = example.replace("\n", " ") + " " + example.replace("\n", " ")
    return out


def adversarial_actions(examples: Sequence[str] = GENERIC_EXAMPLES, *, seed: int = 0) -> tuple[list[Sized], dict[str, str]]:
    """The hostile catalogue: sized inputs (`Sized.make(n)`, any length `n`) and fixed short strings.

    Args:
        examples: Well-formed actions of the env; the first four are buried, repeated, nested and cut.
        seed: Seed of the random-text entries.

    Returns:
        `(sized, fixed)`: a list of `Sized` and a dict label -> action.
    """
    return _sized_catalogue(list(examples), seed), _fixed_catalogue(list(examples))


def fuzz_actions(examples: Sequence[str], n: int, *, seed: int = 0, max_len: int = 20_000) -> list[tuple[str, str]]:
    """`n` mutations of the examples, each `(label, action)`; the same seed gives the same list.

    Each action is one example (or two spliced) after one to four random mutations; `max_len`
    bounds the length of a run a mutation inserts.
    """
    rng = random.Random(seed)
    examples = list(examples) or list(GENERIC_EXAMPLES)
    out = []
    for i in range(n):
        text = rng.choice(examples)
        names = []
        for _ in range(rng.randint(1, 4)):
            name, mutate = rng.choice(_MUTATIONS)
            text = mutate(text, rng, examples, max_len)
            names.append(name)
        out.append((f"fuzz {i}: {', '.join(names)}", text))
    return out


# -- mutations --------------------------------------------------------------------------------------

def _run_length(rng: random.Random, max_len: int) -> int:
    return rng.choice([1, 2, 3, 10, 100, 1_000, max_len])


def _insert_whitespace(text: str, rng: random.Random, _: Sequence[str], max_len: int) -> str:
    unit = rng.choice(list(WHITESPACE.values()))
    return _insert(text, rng.randint(0, len(text)), _fill(unit, _run_length(rng, max_len)))


def _duplicate_span(text: str, rng: random.Random, _: Sequence[str], max_len: int) -> str:
    if not text:
        return text
    a = rng.randint(0, len(text) - 1)
    span = text[a: rng.randint(a + 1, min(len(text), a + 20))]
    return text[:a] + span * max(1, _run_length(rng, max_len) // len(span)) + text[a:]


def _delete_span(text: str, rng: random.Random, _: Sequence[str], __: int) -> str:
    if not text:
        return text
    a = rng.randint(0, len(text) - 1)
    return text[:a] + text[rng.randint(a, len(text)):]


def _bracket_run(text: str, rng: random.Random, _: Sequence[str], max_len: int) -> str:
    return _insert(text, rng.randint(0, len(text)), rng.choice(BRACKETS) * _run_length(rng, max_len))


def _lengthen_digits(text: str, rng: random.Random, _: Sequence[str], max_len: int) -> str:
    digits = [i for i, c in enumerate(text) if c.isdigit()]
    at = rng.choice(digits) if digits else rng.randint(0, len(text))
    return _insert(text, at, rng.choice("0159") * _run_length(rng, max_len))


def _odd_character(text: str, rng: random.Random, _: Sequence[str], __: int) -> str:
    return _insert(text, rng.randint(0, len(text)), rng.choice([*SURROGATES, *CONTROLS, "\ufffd", "\U0001f600", "\u202e"]))


def _splice(text: str, rng: random.Random, examples: Sequence[str], _: int) -> str:
    other = rng.choice(examples)
    return text[: rng.randint(0, len(text))] + other[rng.randint(0, len(other)):]


def _swap_case(text: str, rng: random.Random, _: Sequence[str], __: int) -> str:
    return rng.choice([text.upper(), text.lower(), text.swapcase()])


def _repeat(text: str, rng: random.Random, _: Sequence[str], max_len: int) -> str:
    sep = rng.choice(["", " ", "\n", ", "])
    return sep.join([text] * max(1, min(_run_length(rng, max_len), max_len // max(1, len(text)))))


_MUTATIONS: list[tuple[str, Callable[[str, random.Random, Sequence[str], int], str]]] = [
    ("whitespace run", _insert_whitespace),
    ("span repeated", _duplicate_span),
    ("span cut", _delete_span),
    ("bracket run", _bracket_run),
    ("digits lengthened", _lengthen_digits),
    ("odd character", _odd_character),
    ("examples spliced", _splice),
    ("case changed", _swap_case),
    ("repeated", _repeat),
]


def _insert(text: str, at: int, piece: str) -> str:
    return text[:at] + piece + text[at:]


def _nest(example: str, n: int) -> str:
    openers = sum(example.count(c) for c in "[(")
    depth = max(1, n // max(1, 2 * openers))
    return example.replace("[", "[" * depth).replace("]", "]" * depth).replace("(", "(" * depth).replace(")", ")" * depth) \
        if openers else "[" * (n // 2) + example + "]" * (n // 2)


def _long_digits(example: str, n: int) -> str:
    count = sum(c.isdigit() for c in example)
    if not count:
        return example + " " + "9" * n
    run = max(1, n // count)
    return "".join(c * run if c.isdigit() else c for c in example)


def _short(example: str) -> str:
    flat = " ".join(example.split())
    return flat if len(flat) <= 24 else flat[:21] + "..."
