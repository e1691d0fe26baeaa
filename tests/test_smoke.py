from snakepit_host.testing import running_host


def test_echo_round_trip() -> None:
    with running_host() as running:
        client = running.client()
        assert client.call("echo", {"a": [1, 2, {"b": None}], "s": "x"}) == {"a": [1, 2, {"b": None}], "s": "x"}
        assert client.ping("hi").endswith("hi")
