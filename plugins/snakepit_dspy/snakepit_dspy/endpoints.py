"""The operator's endpoint allow-list (``--dspy-api-bases``): which addresses may receive an environment API key.

An entry is a URL (``https://api.openai.com``, ``http://127.0.0.1:8000/v1``).
An ``api_base`` matches an entry when scheme, host and port are the same
(the port written or the scheme's default; hosts compared without case) and
its path is the entry's path or lies under it, segment by segment. Text
prefixes are not enough: ``http://127.0.0.1:9`` is a prefix of
``http://127.0.0.1:9100`` and ``https://api.openai.com`` of
``https://api.openai.com.attacker.example``. User names, passwords, ``..``
segments, queries and fragments are refused in an ``api_base`` that would
receive such a key, since none belongs in an LM endpoint and each can make
two addresses that read alike go to different places.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlsplit

from snakepit_host import FailedPrecondition, InvalidArgument

DEFAULT_PORTS = {"http": 80, "https": 443}
OPTION_FLAG = "--dspy-api-bases"
OPTION_ENV = "SNAKEPIT_DSPY_API_BASES"


class Endpoint(NamedTuple):
    """An endpoint reduced to what decides where a request goes."""

    scheme: str
    host: str
    port: int
    path: tuple[str, ...]

    def covers(self, other: Endpoint) -> bool:
        return self[:3] == other[:3] and other.path[: len(self.path)] == self.path


def parse(url: str) -> Endpoint:
    """The endpoint of an http(s) URL; ValueError saying what is wrong with it."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError("it is not an http:// or https:// URL")
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError("it has no host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("it carries a user name or password")
    if parts.query or parts.fragment:
        raise ValueError("it has a query or a fragment")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise ValueError("its port is not a number from 0 to 65535") from None
    segments = tuple(segment for segment in parts.path.split("/") if segment)
    if any(segment in (".", "..") for segment in segments):
        raise ValueError("its path has '.' or '..' segments")
    return Endpoint(scheme, host, port, segments)


def allowed_endpoints(option_value: str) -> list[Endpoint]:
    """The endpoints of the option's comma-separated entries; a malformed entry stops every call that needs it."""
    endpoints = []
    for entry in (item.strip() for item in option_value.split(",")):
        if not entry:
            continue
        try:
            endpoints.append(parse(entry))
        except ValueError as exc:
            raise FailedPrecondition(
                f"option {OPTION_FLAG} ({OPTION_ENV}): entry {entry[:200]!r} is not an endpoint: {exc}; "
                "write entries like https://api.openai.com or http://127.0.0.1:8000/v1"
            ) from None
    return endpoints


def check_api_base(api_base: str, allowed: list[Endpoint]) -> str:
    """``api_base`` if one of ``allowed`` covers it; else InvalidArgument saying how to allow it."""
    try:
        endpoint = parse(api_base)
    except ValueError as exc:
        raise InvalidArgument(
            f"configure_lm: api_base {api_base[:200]!r} would receive the API key from this worker's environment, "
            f"and {exc}"
        ) from None
    if any(entry.covers(endpoint) for entry in allowed):
        return api_base
    raise InvalidArgument(
        f"configure_lm: api_base {api_base[:200]!r} would receive the API key from this worker's environment; "
        f"list it in {OPTION_ENV} / {OPTION_FLAG} (comma-separated endpoints: same scheme, host and port, "
        "path at or under the entry's) or pass api_key with the call"
    )
