"""An API key never appears in a response, an error (traceback included) or a log line."""

from __future__ import annotations

import json
import logging

import pytest
import snakepit_dspy.plugin
from snakepit_dspy.testing import Caller

from snakepit_host.client import RemoteError
from snakepit_host.testing import running_host

SECRET = "sk-test-NEVER-SHOW-7c1f0e"


def test_key_is_never_echoed_or_logged(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNAKEPIT_DSPY_TEST_KEY", SECRET + "-env")
    seen: list[str] = []
    with (
        caplog.at_level(logging.DEBUG),
        running_host(snakepit_dspy.plugin, include_tracebacks=True, error_format="json") as running,
    ):
        session = Caller(running.client(), "keys")
        # An address that refuses connections: the LM call fails fast, offline, through the real client.
        unreachable = {"api_base": "http://127.0.0.1:9", "num_retries": 0}
        for key_params in ({"api_key": SECRET}, {"api_key_env": "SNAKEPIT_DSPY_TEST_KEY"}):
            configured = session("configure_lm", model="openai/gpt-4o-mini", **key_params, **unreachable)
            seen.append(json.dumps(configured))
            seen.append(json.dumps(session("check_dspy")))
            error = session.fails("enhanced_predict", signature="q -> a", q="x")
            assert error.metadata["error_status"] == "UNAVAILABLE"
            assert "the LM call failed" in error.message
            assert "Traceback (most recent call last)" in error.message, "tracebacks are checked too"
            seen.append(error.message + json.dumps(error.metadata))
        assert configured["api_key"] == "from environment variable SNAKEPIT_DSPY_TEST_KEY"
        seen.append(json.dumps(session("describe")))
        with pytest.raises(RemoteError) as info:
            session.client.call("configure_lm", {"model": "", "api_key": SECRET}, session_id="keys")
        seen.append(info.value.message)
    seen.extend(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert any("configured LM openai/gpt-4o-mini" in line for line in seen), "the log capture works"
    leaks = [line for line in seen if SECRET in line]
    assert not leaks, leaks
