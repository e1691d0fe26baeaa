"""A small, fast reader of installed distributions' entry points.

``importlib.metadata`` costs 15-20 ms to import on a worker (zipfile,
email, pathlib, csv...), and Snakepit starts many workers. Entry-point
discovery needs only two text files per distribution, so this module reads
them directly: the ``*.dist-info`` / ``*.egg-info`` folders on ``sys.path``,
first occurrence of a distribution winning, as ``importlib.metadata`` does.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import zlib


class EntryPoint:
    """One entry point of a distribution found on the path.

    A plain class with slots: every worker start defines it, and defining a
    NamedTuple costs ~0.3 ms (bench/bench_host.py prints the start-up timeline).
    """

    __slots__ = ("distribution", "group", "metadata_dir", "name", "value", "version")

    def __init__(self, name: str, value: str, group: str, distribution: str, version: str, metadata_dir: str) -> None:
        self.name = name
        self.value = value
        self.group = group
        self.distribution = distribution
        self.version = version
        self.metadata_dir = metadata_dir

    def as_list(self) -> list[str]:
        """The fields in constructor order (how the scan cache stores them)."""
        return [self.name, self.value, self.group, self.distribution, self.version, self.metadata_dir]

    def requirements(self) -> list[str]:
        """The distribution's ``Requires-Dist`` lines (read on demand)."""
        return read_metadata(self.metadata_dir)[2]


def normalize(name: str) -> str:
    """PEP 503 normalisation, so 'Snakepit_Host' and 'snakepit-host' compare equal."""
    return re.sub(r"[-_.]+", "-", name).lower()


# The standard library's folders hold no distributions; listing them is the
# largest part of a scan.
_STDLIB = os.path.dirname(os.__file__)
_SKIPPED = frozenset({_STDLIB, os.path.join(_STDLIB, "lib-dynload")})


def _distribution_dirs(paths: list[str]) -> list[str]:
    seen: set[str] = set()
    found: list[str] = []
    for path in paths:
        if path in _SKIPPED:
            continue
        try:
            entries = sorted(os.scandir(path or "."), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if not entry.name.endswith((".dist-info", ".egg-info")) or not entry.is_dir():
                continue
            key = normalize(entry.name.rsplit(".", 1)[0].split("-", 1)[0])
            if key not in seen:
                seen.add(key)
                found.append(entry.path)
    return found


def read_metadata(metadata_dir: str) -> tuple[str, str, list[str]]:
    """(name, version, requirements) from METADATA or PKG-INFO headers."""
    name = version = ""
    requires: list[str] = []
    for filename in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(metadata_dir, filename), encoding="utf-8") as handle:
                for line in handle:
                    if not line.strip():
                        break  # headers end at the first blank line
                    key, _, value = line.partition(":")
                    if key == "Name":
                        name = value.strip()
                    elif key == "Version":
                        version = value.strip()
                    elif key == "Requires-Dist":
                        requires.append(value.strip())
            break
        except OSError:
            continue
    return name, version, requires


def _parse_group(text: str, group: str) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            continue
        if current == group and "=" in line:
            name, _, value = line.partition("=")
            items.append((name.strip(), value.strip()))
    return items


def scan(group: str, paths: list[str] | None = None) -> list[EntryPoint]:
    """Every entry point of ``group`` on ``paths`` (default ``sys.path``, through the cache)."""
    if paths is not None:
        return _scan(group, paths)
    cache = _cache_file(group)
    if cache is None:
        return _scan(group, sys.path)
    key = _cache_key(sys.path)
    cached = _read_cache(cache, key)
    if cached is not None:
        return cached
    found = _scan(group, sys.path)
    _write_cache(cache, key, found)
    return found


def _scan(group: str, paths: list[str]) -> list[EntryPoint]:
    found: list[EntryPoint] = []
    for metadata_dir in _distribution_dirs(paths):
        try:
            with open(os.path.join(metadata_dir, "entry_points.txt"), encoding="utf-8") as handle:
                text = handle.read()
        except OSError:
            continue
        items = _parse_group(text, group)
        if not items:
            continue
        name, version, _ = read_metadata(metadata_dir)
        for ep_name, value in items:
            found.append(EntryPoint(ep_name, value, group, name, version, metadata_dir))
    return found


# ---------------------------------------------------------------- cache
#
# Reading every distribution's entry_points.txt costs about a millisecond per
# hundred distributions on each worker start. The result is cached per
# interpreter and keyed on the modification times of the sys.path folders:
# installing, removing or upgrading a distribution changes its folder's
# mtime, the same signal Python's own import system uses to refresh its
# directory caches. File times are coarse (a few ms), so a result is only
# cached when no folder changed in the last seconds: a folder still being
# written to never gets a cache entry that its next change could hide.
# SNAKEPIT_CACHE_DIR='' turns the cache off.

SETTLED_NS = 2_000_000_000


def _cache_file(group: str) -> str | None:
    base = os.environ.get("SNAKEPIT_CACHE_DIR")
    if base is None:
        base = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "snakepit-host")
    if not base:
        return None
    interpreter = zlib.crc32(f"{sys.prefix}|{sys.version}".encode())
    return os.path.join(base, f"entry-points-{group}-{interpreter:08x}.json")


def _cache_key(paths: list[str]) -> list[list[object]]:
    key: list[list[object]] = []
    for path in paths:
        if path in _SKIPPED:
            continue
        try:
            key.append([path, os.stat(path or ".").st_mtime_ns])
        except OSError:
            key.append([path, None])
    return key


def _read_cache(cache: str, key: list[list[object]]) -> list[EntryPoint] | None:
    try:
        with open(cache, encoding="utf-8") as handle:
            data = json.load(handle)
        if data.get("key") != key:
            return None
        return [EntryPoint(*item) for item in data["entry_points"]]
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _write_cache(cache: str, key: list[list[object]], found: list[EntryPoint]) -> None:
    recent = time.time_ns() - SETTLED_NS
    if any(isinstance(mtime, int) and mtime > recent for _, mtime in key):
        return
    try:
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        temporary = f"{cache}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump({"key": key, "entry_points": [ep.as_list() for ep in found]}, handle)
        os.replace(temporary, cache)
    except OSError:
        pass  # a read-only home only costs the scan


# ---------------------------------------------------------------- requirements

_SPEC = re.compile(r"\s*(~=|===|==|!=|<=|>=|<|>)\s*([^\s,;]+)\s*")


def requirement_for(requirements: list[str], distribution: str) -> str | None:
    """The version specifier a distribution puts on ``distribution``, if any.

    Requirements behind an ``extra`` marker are optional and ignored.
    """
    wanted = normalize(distribution)
    for requirement in requirements:
        spec, _, marker = requirement.partition(";")
        if "extra" in marker:
            continue
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*\(?([^)]*)\)?", spec)
        if match and normalize(match.group(1)) == wanted:
            return match.group(3).strip()
    return None


def _release(version: str) -> tuple[int, ...]:
    numbers = re.match(r"\d+(?:\.\d+)*", version.strip())
    return tuple(int(n) for n in numbers.group(0).split(".")) if numbers else (0,)


def _pad(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    width = max(len(a), len(b))
    return a + (0,) * (width - len(a)), b + (0,) * (width - len(b))


def _satisfies(version: tuple[int, ...], op: str, target: str) -> bool:
    if op in ("==", "!=") and target.endswith(".*"):
        prefix = _release(target[:-2])
        same = version[: len(prefix)] == prefix
        return same if op == "==" else not same
    v, t = _pad(version, _release(target))
    if op == "~=":
        stem = _release(target)[:-1]
        return v >= t and version[: len(stem)] == stem
    return {
        "==": v == t,
        "===": v == t,
        "!=": v != t,
        "<": v < t,
        "<=": v <= t,
        ">": v > t,
        ">=": v >= t,
    }[op]


def version_matches(specifier: str, version: str) -> bool:
    """Whether ``version`` satisfies a PEP 440 specifier such as ``>=0.1,<0.2``.

    Release segments only (pre-release tags are ignored), which is what a
    host-version gate needs.
    """
    release = _release(version)
    for clause in filter(None, (c.strip() for c in specifier.split(","))):
        match = _SPEC.fullmatch(clause)
        if match is None:
            return False
        if not _satisfies(release, match.group(1), match.group(2)):
            return False
    return True
