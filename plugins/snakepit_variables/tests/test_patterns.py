"""String ``pattern`` constraints run in linear time: no value can freeze the worker; what RE2 cannot run is refused."""

from __future__ import annotations

import re
import threading
from typing import Any

import grpc
import pytest
from hypothesis import given
from hypothesis import strategies as st
from snakepit_variables.patterns import contains_match
from snakepit_variables.testing import VariableRpcs, rpc_error, typed

from snakepit_host.proto import snakepit_bridge_pb2 as pb

PATHOLOGICAL = "^(a+)+$"
"""Python's re needs about 2**n steps for n a's and a '!' (27 of them: seconds; 60: centuries)."""


@pytest.mark.parametrize("length", [27, 60, 1_000_000])
def test_the_pathological_pattern_answers_at_once(variables: VariableRpcs, length: int) -> None:
    variables.register("s", "string", "aaa", {"pattern": PATHOLOGICAL})
    error = rpc_error(variables.set, "s", "a" * length + "!", "string")  # VariableRpcs waits 10 s at most
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "does not match pattern '^(a+)+$'" in error.details()
    assert variables.set("s", "a" * length, "string") == 1


def test_ping_stays_responsive_while_pathological_writes_run(stub: Any, variables: VariableRpcs) -> None:
    variables.register("s", "string", "aaa", {"pattern": PATHOLOGICAL})
    value = pb.SetVariableRequest(session_id="s1", variable_identifier="s", value=typed("string", "a" * 60 + "!"))
    stop = threading.Event()
    answers: list[grpc.StatusCode] = []

    def attack() -> None:
        while not stop.is_set():
            try:
                stub.SetVariable(value, timeout=30)
            except grpc.RpcError as exc:
                answers.append(exc.code())

    attackers = [threading.Thread(target=attack) for _ in range(4)]
    for thread in attackers:
        thread.start()
    try:
        for i in range(20):
            assert stub.Ping(pb.PingRequest(message=f"ping {i}"), timeout=5).message.endswith(f"ping {i}")
    finally:
        stop.set()
        for thread in attackers:
            thread.join(30)
    assert answers and set(answers) == {grpc.StatusCode.INVALID_ARGUMENT}


@pytest.mark.parametrize(
    ("pattern", "feature"),
    [
        (r"^(a)\1$", r"a backreference (\1 ... \9)"),
        (r"(?P<x>a)(?P=x)", "a named backreference or recursion"),
        (r"(?<x>a)\k<x>", r"a named backreference (\k<name>)"),
        (r"^(?=.*\d)\w+$", "a lookahead ((?=...))"),
        (r"^(?!admin)\w+$", "a negative lookahead ((?!...))"),
        (r"(?<=\$)\d+", "a lookbehind ((?<=...))"),
        (r"(?<!-)\d+", "a negative lookbehind ((?<!...))"),
        (r"(?>a+)b", "an atomic group ((?>...))"),
        (r"a++b", "a possessive quantifier"),
        (r"(a)?(?(1)b|c)", "a conditional ((?(1)...))"),
        (r"(?x) a b ", "verbose mode ((?x))"),
        (r"abc\Z", r"\Z (write \z for the end of the text)"),
        (r"a{1001}", "a repetition count above 1000"),
    ],
)
def test_patterns_re2_cannot_run_are_refused_naming_the_feature(
    variables: VariableRpcs, pattern: str, feature: str
) -> None:
    error = rpc_error(variables.register, "s", "string", "x", {"pattern": pattern})
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    expected = f"s: constraint 'pattern' uses {feature}"
    assert error.details().startswith(expected) and "(RE2) cannot run" in error.details(), error.details()
    assert rpc_error(variables.get, "s").code() == grpc.StatusCode.NOT_FOUND


def test_invalid_patterns_are_still_refused(variables: VariableRpcs) -> None:
    error = rpc_error(variables.register, "s", "string", "x", {"pattern": "([a-z]"})
    assert "constraint 'pattern' is not a valid regular expression: missing )" in error.details()


@pytest.mark.parametrize(
    ("pattern", "good", "bad"),
    [
        ("^[a-z]+$", "abc", "abC"),
        ("b", "abc", "xyz"),  # a match anywhere, as before
        (r"^\d{3}-\d{4}$", "555-1234", "5551234"),
        (r"(?i)^hello", "HeLLo world", "say hello"),
        (r"^(?P<user>\w+)@(?P<host>[\w.]+)$", "ann@example.org", "ann@"),
        (r"^\w+\z", "abc", "abc\n"),
        (r"^[^\s]+$", "héllo", "h llo"),
        (r"^\p{Greek}+$", "αβγ", "abc"),
        ("^(a+)+$", "aaaa", "aaab"),
    ],
)
def test_ordinary_patterns_behave_as_before(variables: VariableRpcs, pattern: str, good: str, bad: str) -> None:
    variables.register("s", "string", good, {"pattern": pattern})
    error = rpc_error(variables.set, "s", bad, "string")
    assert f"{bad!r} does not match pattern {pattern!r}" in error.details()


COMMON = ["^[a-z]+$", r"\d+", r"^[A-Za-z_][A-Za-z0-9_]*$", "^(gpt|claude)-", "x|y$", r"^\w{2,5}$", "^(ab)*c?$"]


@given(st.sampled_from(COMMON), st.text(alphabet="abcxyz_-09ABC ", max_size=12))
def test_common_patterns_match_as_pythons_re_does(pattern: str, text: str) -> None:
    assert contains_match(pattern, text) == (re.search(pattern, text) is not None)


def test_dollar_is_the_end_of_the_text() -> None:
    """The difference that matters for validation: in Python and Elixir, ``$`` also matches before a final newline."""
    assert re.search("^[a-z]+$", "abc\n") is not None
    assert not contains_match("^[a-z]+$", "abc\n")
    assert contains_match("(?m)^[a-z]+$", "abc\n")
