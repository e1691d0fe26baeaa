"""Sessions served at the same time by different threads never see each other's LM."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from snakepit_dspy.testing import Caller

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


def test_host_default_lm_serves_sessions_without_their_own(open_session: Callable[[str], Caller]) -> None:
    admin, plain, own = open_session("admin"), open_session("plain"), open_session("own")
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
