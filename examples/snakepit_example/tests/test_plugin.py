"""The plugin served over real gRPC, with only the host's built-ins beside it (no snakepit-tools)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import grpc
import pytest

from snakepit_host import RemoteError, pb
from snakepit_host.testing import RunningHost


def test_describe_lists_everything_the_plugin_registered(example_host: RunningHost) -> None:
    info = example_host.client().call("describe")
    listing = {plugin["name"]: plugin for plugin in info["plugins"]}
    assert listing["plugin"]["status"] == "loaded"
    assert listing["plugin"]["provides"] == {
        "commands": ["example_sessions"],
        "tools": ["payment_schedule", "split_bill"],
        "types": ["money"],
    }
    money = next(t for t in info["types"] if t["name"] == "money")
    assert money["owner"] == "plugin" and "max_places" in money["constraints"]["properties"]
    tools = {tool["name"]: tool for tool in info["tools"]}
    assert tools["payment_schedule"]["streaming"] and not tools["split_bill"]["streaming"]
    assert tools["split_bill"]["tags"] == ["money"]


@pytest.mark.parametrize(
    ("params", "total", "shares"),
    [
        ({"total": "100.00", "people": 3}, "100.00", ["33.34", "33.33", "33.33"]),
        # 84.30 + 15 % = 96.945, rounded half-even to 96.94
        ({"total": "84.30", "people": 4, "tip_percent": 15}, "96.94", ["24.24", "24.24", "24.23", "24.23"]),
        ({"total": "1000", "people": 7, "currency": "JPY"}, "1000", ["143", "143", "143", "143", "143", "143", "142"]),
        ({"total": "0.01", "people": 2}, "0.01", ["0.01", "0.00"]),
    ],
)
def test_split_bill(example_host: RunningHost, params: dict[str, Any], total: str, shares: list[str]) -> None:
    result = example_host.client().call("split_bill", params)
    assert result["total"] == total and result["shares"] == shares
    assert sum(Decimal(share) for share in result["shares"]) == Decimal(result["total"])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"total": "10", "people": 0}, "parameter 'people': 0 is less than the minimum of 1"),
        (
            {"total": "10", "people": 2, "tip_percent": 101},
            "parameter 'tip_percent': 101 is greater than the maximum of 100",
        ),
        ({"total": 10.5, "people": 2}, "parameter 'total': 10.5 is not of type 'string'"),
        ({"total": "ten", "people": 2}, "total 'ten' is not a plain decimal number"),
        ({"total": "10.001", "people": 2}, "total 10.001 has more decimal places than the currency's 2"),
        ({"total": "-5", "people": 2}, "total must not be negative"),
        ({"total": "10", "people": 2, "currency": "XYZ"}, "parameter 'currency': 'XYZ' is not one of ['CHF', 'EUR',"),
        ({"total": "10", "people": "2"}, "parameter 'people': '2' is not of type 'integer'"),
        ({"total": "10"}, "missing required parameter 'people'"),
        ({"total": "10", "people": 2, "tip": 5}, "unknown parameter 'tip'"),
    ],
)
def test_bad_input_is_refused_and_the_host_keeps_serving(
    example_host: RunningHost, params: dict[str, Any], message: str
) -> None:
    client = example_host.client()
    with pytest.raises(RemoteError) as caught:
        client.call("split_bill", params)
    assert message in caught.value.message
    assert client.call("split_bill", {"total": "1", "people": 1})["shares"] == ["1.00"]


def test_payment_schedule_streams_one_chunk_per_month(example_host: RunningHost) -> None:
    chunks = list(example_host.client().stream("payment_schedule", {"amount": "100.00", "months": 3}))
    assert [chunk["month"] for chunk in chunks] == [1, 2, 3]
    assert [chunk["payment"] for chunk in chunks] == ["33.34", "33.33", "33.33"]
    assert chunks[-1]["remaining"] == "0.00"


def test_a_bad_stream_request_fails_with_the_reason(example_host: RunningHost) -> None:
    client = example_host.client()
    # Failing before the first chunk, a stream ends with the gRPC status of the error.
    with pytest.raises(grpc.RpcError) as caught:
        list(client.stream("payment_schedule", {"amount": "100", "months": 0}))
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "parameter 'months': 0 is less than the minimum of 1" in (caught.value.details() or "")
    assert len(list(client.stream("payment_schedule", {"amount": "1", "months": 1}))) == 1


def test_lifecycle_hooks_count_sessions(example_host: RunningHost) -> None:
    client = example_host.client()
    for session_id in ("alpha", "beta"):
        response = client.stub.InitializeSession(pb.InitializeSessionRequest(session_id=session_id))
        assert response.success
    assert client.stub.CleanupSession(pb.CleanupSessionRequest(session_id="alpha")).success
    stats = client.call("example_sessions", session_id="beta")
    assert stats == {"open": 1, "created": 2, "closed": 1, "closed_by_reason": {"cleanup": 1}}
    assert example_host.host.status["example"]["created"] == 2  # what `describe` shows under "status"


def test_the_command_refuses_parameters(example_host: RunningHost) -> None:
    with pytest.raises(RemoteError, match=r"unknown parameter 'verbose' \(it takes no parameters\)$"):
        example_host.client().call("example_sessions", {"verbose": True})
