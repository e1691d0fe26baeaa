"""An API key never appears in a response, an error (traceback included) or a log line."""

from __future__ import annotations

import json
import logging

import pytest
import snakepit_dspy.plugin
from snakepit_dspy.testing import Caller

from snakepit_host.host_client import RemoteError
from snakepit_host.testing import running_host

SECRET = "sk-test-NEVER-SHOW-7c1f0e"


def test_key_is_never_echoed_or_logged(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNAKEPIT_DSPY_TEST_API_KEY", SECRET + "-env")
    monkeypatch.setenv("SNAKEPIT_DSPY_API_BASES", "http://127.0.0.1:9")  # the operator allows this endpoint
    seen: list[str] = []
    with (
        caplog.at_level(logging.DEBUG),
        running_host(snakepit_dspy.plugin, include_tracebacks=True, error_format="json") as running,
    ):
        session = Caller(running.client(), "keys")
        # An address that refuses connections: the LM call fails fast, offline, through the real client.
        unreachable = {"api_base": "http://127.0.0.1:9", "num_retries": 0}
        for key_params in ({"api_key": SECRET}, {"api_key_env": "SNAKEPIT_DSPY_TEST_API_KEY"}):
            configured = session("configure_lm", model="openai/gpt-4o-mini", **key_params, **unreachable)
            seen.append(json.dumps(configured))
            seen.append(json.dumps(session("check_dspy")))
            error = session.fails("enhanced_predict", signature="q -> a", inputs={"q": "x"})
            assert error.metadata["error_status"] == "UNAVAILABLE"
            assert "the LM call failed" in error.message
            assert "Traceback (most recent call last)" in error.message, "tracebacks are checked too"
            seen.append(error.message + json.dumps(error.metadata))
            answered = session.refuses("enhanced_predict", signature="q -> a", q="x")  # DSPex's form
            assert answered["error_type"] == "UNAVAILABLE"
            seen.append(json.dumps(answered))
        assert configured["api_key"] == "from environment variable SNAKEPIT_DSPY_TEST_API_KEY"
        seen.append(json.dumps(session("describe")))
        with pytest.raises(RemoteError) as info:
            session.client.call("configure_lm", {"model": "", "api_key": SECRET}, session_id="keys")
        seen.append(info.value.message)
    seen.extend(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert any("configured LM openai/gpt-4o-mini" in line for line in seen), "the log capture works"
    leaks = [line for line in seen if SECRET in line]
    assert not leaks, leaks


def test_environment_keys_go_only_to_allowed_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNAKEPIT_DSPY_TEST_API_KEY", SECRET)
    monkeypatch.delenv("SNAKEPIT_DSPY_API_BASES", raising=False)
    with running_host(snakepit_dspy.plugin) as running:
        session = Caller(running.client(), "endpoints")
        env_key = {"model": "openai/gpt-4o-mini", "api_key_env": "SNAKEPIT_DSPY_TEST_API_KEY"}
        error = session.fails("configure_lm", **env_key, api_base="http://attacker.example:80")
        assert "would receive the API key from this worker's environment" in error.message
        error = session.fails("configure_lm", model="openai/gpt-4o-mini", api_base="http://attacker.example:80")
        assert "SNAKEPIT_DSPY_API_BASES" in error.message  # the provider's usual variable is an environment key too
        error = session.fails("configure_lm", model="openai/gpt-4o-mini", api_key_env="DATABASE_URL")
        assert "api_key_env must name an API-key variable" in error.message
        # A caller that brings its own key may send it anywhere.
        own = session("configure_lm", model="openai/gpt-4o-mini", api_key="sk-own", api_base="http://elsewhere:1")
        assert own["api_key"] == "from parameters"
        error = session.fails(
            "call_dspy", target="dspy.Predict", args=["q -> a"], kwargs={"config": {"api_base": "http://x"}}
        )
        assert "would redirect the LM" in error.message and error.metadata["error_status"] == "PERMISSION_DENIED"


ALLOWED_ENDPOINTS = "http://127.0.0.1:9, https://api.openai.com, http://localhost:8000/v1"
ENDPOINT_CASES = [
    ("http://127.0.0.1:9", True),
    ("http://127.0.0.1:9/v1/chat", True),
    ("HTTP://127.0.0.1:9/", True),
    ("https://api.openai.com:443/v1", True),
    ("https://API.OpenAI.com", True),
    ("http://localhost:8000/v1", True),
    ("http://localhost:8000/v1/", True),
    ("http://localhost:8000/v1/chat/completions", True),
    # a text prefix of an allowed entry is not the same endpoint
    ("http://127.0.0.1:9100", False),
    ("http://127.0.0.1:90/v1", False),
    ("https://api.openai.com.attacker.example", False),
    ("https://api.openai.com.attacker.example/v1", False),
    ("http://localhost:8000/v1x", False),
    ("http://localhost:8000/v10/chat", False),
    ("http://localhost:8000/", False),
    # same text, another place
    ("http://127.0.0.1:9@attacker.example", False),
    ("http://user:pw@127.0.0.1:9", False),
    ("http://localhost:8000/v1/../admin", False),
    ("https://127.0.0.1:9", False),
    ("http://api.openai.com", False),
    ("http://127.0.0.1:9?x=1", False),
    ("ftp://127.0.0.1:9", False),
]


@pytest.mark.parametrize(("api_base", "allowed"), ENDPOINT_CASES)
def test_endpoints_are_compared_by_scheme_host_port_and_path_segments(
    monkeypatch: pytest.MonkeyPatch, api_base: str, allowed: bool
) -> None:
    monkeypatch.setenv("SNAKEPIT_DSPY_TEST_API_KEY", SECRET)
    with running_host(snakepit_dspy.plugin, options={"dspy_api_bases": ALLOWED_ENDPOINTS}) as running:
        session = Caller(running.client(), "endpoints")
        params = {"model": "openai/gpt-4o-mini", "api_key_env": "SNAKEPIT_DSPY_TEST_API_KEY", "api_base": api_base}
        if allowed:
            assert (
                session("configure_lm", **params)["api_key"] == "from environment variable SNAKEPIT_DSPY_TEST_API_KEY"
            )
        else:
            error = session.fails("configure_lm", **params)
            assert "would receive the API key from this worker's environment" in error.message
            assert SECRET not in error.message


def test_a_malformed_endpoint_entry_is_reported() -> None:
    with running_host(snakepit_dspy.plugin, options={"dspy_api_bases": "127.0.0.1:9"}) as running:
        session = Caller(running.client(), "endpoints")
        error = session.fails("configure_lm", model="openai/gpt-4o-mini", api_base="http://127.0.0.1:9")
        assert error.metadata["error_status"] == "FAILED_PRECONDITION"
        assert (
            "option --dspy-api-bases (SNAKEPIT_DSPY_API_BASES): entry '127.0.0.1:9' is not an endpoint" in error.message
        )
