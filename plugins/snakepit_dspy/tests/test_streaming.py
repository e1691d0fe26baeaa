"""stream_predict_batch and stream_chain_of_thought over ExecuteStreamingTool."""

from __future__ import annotations

from snakepit_dspy.testing import Caller


def test_predict_batch_one_chunk_per_item(session: Caller) -> None:
    session.dummy({"answer": "1"}, {"answer": "2"})
    chunks = session.stream(
        "stream_predict_batch",
        signature="question -> answer",
        items=[{"question": "a"}, {"q": "bad"}, {"question": "b"}],
    )
    assert chunks == [
        {"type": "prediction", "index": 0, "inputs": {"question": "a"}, "outputs": {"answer": "1"}},
        {
            "type": "error",
            "index": 1,
            "error": "missing input(s) question; unknown input(s) 'q': signature 'question -> answer' takes question",
        },
        {"type": "prediction", "index": 2, "inputs": {"question": "b"}, "outputs": {"answer": "2"}},
        {"type": "complete", "total": 3, "succeeded": 2, "failed": 1},
    ]


def test_predict_batch_stops_when_the_lm_runs_out(session: Caller) -> None:
    session.dummy({"answer": "1"})
    stream = session.client.stream(
        "stream_predict_batch", {"signature": "q -> answer", "items": [{"q": "a"}, {"q": "b"}]}, session_id="session-a"
    )
    assert next(stream)["outputs"] == {"answer": "1"}
    try:
        next(stream)
    except Exception as exc:  # RemoteError from the error chunk
        assert "used all 1 scripted answer" in str(exc)
    else:
        raise AssertionError("the stream should end with the LM's error")
    assert session("ping")["status"] == "ok"


def test_chain_of_thought_stream(session: Caller) -> None:
    session.dummy({"reasoning": "France is a country. Its capital is Paris.", "answer": "Paris"})
    chunks = session.stream("stream_chain_of_thought", question="Capital of France?")
    assert [c["type"] for c in chunks] == ["thinking", "reasoning_step", "reasoning_step", "final_answer"]
    assert chunks[0]["inputs"] == {"question": "Capital of France?"}
    assert [c["text"] for c in chunks[1:3]] == ["France is a country.", "Its capital is Paris."]
    assert chunks[-1]["outputs"] == {"answer": "Paris"}


def test_bad_stream_input_fails_before_any_chunk(session: Caller) -> None:
    session.dummy({"answer": "1"})
    error = session.fails("stream_predict_batch", signature="q -> answer", items="not a list")
    assert "parameter 'items': 'not a list' is not of type 'array'" in error.message
