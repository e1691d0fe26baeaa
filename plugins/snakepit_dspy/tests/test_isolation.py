"""Sessions never see each other's LM: not when served at the same time, and no session sets another's."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import snakepit_dspy.plugin
from snakepit_dspy.testing import Caller

from snakepit_host.testing import running_host

CALLS_PER_SESSION = 12


def test_concurrent_sessions_use_their_own_lm(open_session: Callable[[str], Caller]) -> None:
    sessions = {name: open_session(name) for name in ("red", "green", "blue", "gold")}
    for name, caller in sessions.items():
        caller.dummy(*({"answer": f"{name}-{i}"} for i in range(CALLS_PER_SESSION)), temperature=len(name) / 10)

    def run(name: str) -> list[tuple[str, float]]:
        caller = sessions[name]
        results = []
        for _ in range(CALLS_PER_SESSION):
            result = caller("enhanced_predict", signature="question -> answer", question=name)
            results.append((result["outputs"]["answer"], result["lm"]["temperature"]))
        return results

    with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
        outcomes = dict(zip(sessions, pool.map(run, sessions), strict=True))

    for name, results in outcomes.items():
        assert [answer for answer, _ in results] == [f"{name}-{i}" for i in range(CALLS_PER_SESSION)]
        assert {temperature for _, temperature in results} == {len(name) / 10}


def test_no_session_changes_another_sessions_lm(open_session: Callable[[str], Caller]) -> None:
    """The host-wide default is the operator's: configure_lm default=true from a session is refused."""
    victim, intruder = open_session("victim"), open_session("intruder")
    victim.dummy({"answer": "mine"})
    error = intruder.fails("configure_lm", model="dummy", answers=[{"answer": "hijacked"}], default=True)
    assert error.metadata["error_status"] == "PERMISSION_DENIED"
    assert "would change the LM of every session" in error.message and "--dspy-callers-set-default" in error.message
    answered = intruder.refuses("configure_lm", model_type="openai", model="gpt-4o", api_key="k", default=True)
    assert answered["error_type"] == "PERMISSION_DENIED"
    assert intruder("check_dspy")["lm"] is None and intruder("check_dspy")["default_lm"] is None
    assert victim("enhanced_predict", signature="q -> answer", q="x")["outputs"]["answer"] == "mine"


def test_the_operator_sets_the_host_default() -> None:
    with running_host(snakepit_dspy.plugin, options={"dspy_default_lm": "openai/gpt-4o-mini"}) as running:
        client = running.client()
        for name in ("a", "b"):
            checked = Caller(client, name)("check_dspy")
            assert checked["lm"]["model"] == checked["default_lm"]["model"] == "openai/gpt-4o-mini"
            assert checked["lm"]["scope"] == "default"
        own = Caller(client, "own")
        own.dummy({"answer": "from own"})
        assert own("enhanced_predict", signature="q -> answer", q="x")["outputs"]["answer"] == "from own"
        assert Caller(client, "a")("describe")["status"]["dspy"]["default_lm"] == "openai/gpt-4o-mini"


def test_callers_set_the_default_when_the_operator_allows_it() -> None:
    with running_host(snakepit_dspy.plugin, options={"dspy_callers_set_default": True}) as running:
        client = running.client()
        admin, plain, own = Caller(client, "admin"), Caller(client, "plain"), Caller(client, "own")
        configured = admin("configure_lm", model="dummy", answers=[{"answer": "from default"}], default=True)
        assert configured["scope"] == "default"
        own.dummy({"answer": "from own"})
        assert own("enhanced_predict", signature="q -> answer", q="x")["outputs"]["answer"] == "from own"
        assert plain("enhanced_predict", signature="q -> answer", q="x")["outputs"]["answer"] == "from default"
        assert plain("check_dspy")["lm"]["scope"] == "default"
        assert admin("describe")["status"]["dspy"]["default_lm"] == "dummy"


def test_dspy_global_settings_and_history_are_never_touched(session: Caller) -> None:
    import dspy
    from dspy.clients.base_lm import GLOBAL_HISTORY

    before = len(GLOBAL_HISTORY)
    session.dummy({"answer": "x"}, {"reasoning": "r", "answer": "y"})
    session("enhanced_predict", signature="q -> answer", q="x")
    session("enhanced_chain_of_thought", signature="q -> answer", q="x")
    assert dspy.settings.lm is None
    assert len(GLOBAL_HISTORY) == before, "no session's prompts are kept process-wide"
