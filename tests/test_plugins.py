"""Plugin manager: isolation, strict mode, allow/deny, requirements, lifecycle."""

from __future__ import annotations

import dataclasses
import logging
import sys
from pathlib import Path
from typing import Any

import pytest

from snakepit_host import __version__, hookimpl
from snakepit_host._async_loop import BackgroundLoop
from snakepit_host._entry_points import requirement_for, scan, version_matches
from snakepit_host._plugin_manager import PluginLoadError, PluginManager
from snakepit_host.host_client import RemoteError
from snakepit_host.testing import running_host


def _manager(**kwargs: Any) -> PluginManager:
    manager = PluginManager(**kwargs)
    manager.load_builtins()
    return manager


class Good:
    @hookimpl
    def register_commands(self, register: Any) -> None:
        register.command("good", lambda ctx, params: "good")


class RaisesOnRegister:
    @hookimpl
    def register_types(self, register: Any) -> None:
        register.type("partial", object())

    @hookimpl
    def register_commands(self, register: Any) -> None:
        register.command("half_done", lambda ctx, params: None)
        raise RuntimeError("database is not configured")


class CollidesWithEcho:
    @hookimpl
    def register_commands(self, register: Any) -> None:
        register.command("echo", lambda ctx, params: "mine")


class UnknownHook:
    @hookimpl
    def register_comands(self, register: Any) -> None:  # typo on purpose
        pass


class OptionalForeignHook:
    @hookimpl(optionalhook=True)
    def register_variable_stores(self, register: Any) -> None:
        pass

    @hookimpl
    def register_commands(self, register: Any) -> None:
        register.command("optional_ok", lambda ctx, params: 1)


class BadSignature:
    @hookimpl
    def register_commands(self, register: Any, nonsense: Any) -> None:
        pass


class NoHooks:
    def register_commands(self, register: Any) -> None:  # not marked
        pass


def test_failing_plugin_is_withdrawn_and_others_serve(caplog: pytest.LogCaptureFixture) -> None:
    manager = _manager()
    manager.add(Good, "good")
    manager.add(RaisesOnRegister, "raises")
    with caplog.at_level(logging.ERROR, "snakepit_host.plugins"):
        registry = manager.build_registry()
    assert "good" in registry.commands and "echo" in registry.commands
    assert "half_done" not in registry.commands and "partial" not in registry.types
    record = manager.records["raises"]
    assert record.status == "error"
    assert record.error == "register_commands failed: RuntimeError: database is not configured"
    assert "plugin raises failed" in caplog.text


def test_collision_with_builtin_names_both_plugins() -> None:
    manager = _manager()
    manager.add(CollidesWithEcho, "copycat")
    registry = manager.build_registry()
    assert registry.commands["echo"].owner == "core"
    error = manager.records["copycat"].error or ""
    assert "'copycat'" in error and "'core'" in error


@pytest.mark.parametrize(
    ("plugin", "reason"),
    [
        (UnknownHook, "unknown hook 'register_comands'"),
        (BadSignature, "nonsense"),
        (NoHooks, "implements no snakepit hooks"),
    ],
)
def test_broken_plugins_are_recorded(plugin: type, reason: str) -> None:
    manager = _manager()
    manager.add(plugin, "broken")
    manager.build_registry()
    record = manager.records["broken"]
    assert record.status == "error" and reason in (record.error or "")


def test_a_preparer_that_returns_garbage_fails_alone() -> None:
    class Tools:
        @hookimpl
        def register_tools(self, register: Any) -> None:
            register.tool(lambda a: a, name="identity")

    class BadPreparer:
        @hookimpl
        def prepare_tool(self, tool: Any) -> Any:
            return {"not": "a tool"}

    manager = _manager()
    manager.add(Tools, "tools")
    manager.add(BadPreparer, "bad_preparer")
    registry = manager.build_registry()
    assert manager.records["tools"].status == "loaded" and "identity" in registry.commands
    record = manager.records["bad_preparer"]
    assert record.status == "error"
    assert record.error == "prepare_tool returned dict for tool 'identity', not a Tool of that name"


def test_a_preparer_receives_prepared_tools_and_what_it_returns_is_enforced() -> None:
    seen: dict[str, Any] = {}

    def bounded(ctx: Any, n: int) -> int:
        return n

    class Tools:
        @hookimpl
        def register_tools(self, register: Any) -> None:
            register.tool(bounded, tags=["audited"])
            register.tool("textwrap:dedent", name="dedent")  # lazy: prepared on its first call

    class Audit:
        @hookimpl
        def prepare_tool(self, tool: Any) -> Any:
            seen[tool.name] = (tool.parameters, tool.invoker is not None)
            if "audited" not in tool.tags:
                return None
            schema = {**tool.parameters, "properties": {"n": {"type": "integer", "maximum": 10}}}
            return dataclasses.replace(tool, parameters=schema, metadata={"audited": "yes"})

    with running_host(Tools, Audit) as handle:
        parameters, prepared = seen["bounded"]
        assert prepared and parameters == {
            "type": "object",
            "properties": {"n": {"type": "integer"}},
            "required": ["n"],
            "additionalProperties": False,
        }
        assert seen["dedent"] == (None, True)  # lazy: its invoker imports the module and derives the schema later
        tool = handle.host.registry.commands["bounded"]
        assert tool.metadata == {"audited": "yes"} and tool.parameters is not None
        assert tool.parameters["properties"]["n"]["maximum"] == 10
        client = handle.client()
        assert client.call("bounded", {"n": 3}) == 3
        with pytest.raises(RemoteError, match="parameter 'n': 11 is greater than the maximum of 10"):
            client.call("bounded", {"n": 11})
        assert client.call("dedent", {"text": "  x"}) == "x"


def test_optional_hooks_of_absent_plugins_are_fine() -> None:
    manager = _manager()
    manager.add(OptionalForeignHook, "optional")
    registry = manager.build_registry()
    assert manager.records["optional"].status == "loaded" and "optional_ok" in registry.commands


def test_strict_mode_makes_any_failure_fatal() -> None:
    manager = _manager(strict=True)
    manager.add(RaisesOnRegister, "raises")
    with pytest.raises(PluginLoadError, match="database is not configured"):
        manager.build_registry()


def test_listing_reports_hooks_provides_and_timing() -> None:
    manager = _manager()
    manager.add(Good, "good")
    manager.build_registry()
    listing = {item["name"]: item for item in manager.listing()}
    assert listing["core"]["builtin"] and listing["core"]["provides"]["commands"] == [
        "describe",
        "echo",
        "ping",
        "stats",
    ]
    assert listing["good"]["hooks"] == ["register_commands"] and listing["good"]["load_ms"] >= 0


def test_lifecycle_errors_are_logged_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []

    class Lifecycle:
        @hookimpl
        def host_started(self, host: Any) -> None:
            raise ValueError("cannot warm up")

    class Async:
        @hookimpl
        async def host_started(self, host: Any) -> None:
            calls.append("async ran")

    manager = _manager()
    manager.add(Lifecycle, "lifecycle")
    manager.add(Async, "async")
    manager.build_registry()
    loop = BackgroundLoop()
    try:
        with caplog.at_level(logging.ERROR):
            manager.call_lifecycle("host_started", loop, host=None)
    finally:
        loop.stop()
    assert calls == ["async ran"]
    assert manager.records["lifecycle"].runtime_errors == ["host_started failed: ValueError: cannot warm up"]
    assert manager.records["lifecycle"].status == "loaded"


# ---------------------------------------------------------------- entry points on disk


def _fake_distribution(site: Path, name: str, module: str, requires: str = "", ep_name: str | None = None) -> None:
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    lines = ["Metadata-Version: 2.1", f"Name: {name}", "Version: 1.0"]
    if requires:
        lines.append(f"Requires-Dist: {requires}")
    (info / "METADATA").write_text("\n".join(lines) + "\n\nlong description\nRequires-Dist: ignored\n")
    (info / "entry_points.txt").write_text(f"[console_scripts]\nx = y:z\n\n[snakepit]\n{ep_name or name} = {module}\n")


def test_scan_reads_dist_info_entry_points(tmp_path: Path) -> None:
    _fake_distribution(tmp_path, "alpha-plugin", "alpha_mod", requires="snakepit-host>=0.1")
    found = scan("snakepit", [str(tmp_path)])
    assert [(ep.name, ep.value, ep.distribution, ep.version) for ep in found] == [
        ("alpha-plugin", "alpha_mod", "alpha-plugin", "1.0")
    ]
    assert found[0].requirements() == ["snakepit-host>=0.1"]


def test_scan_cache_follows_installs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from snakepit_host import _entry_points as entrypoints

    site = tmp_path / "site"
    _fake_distribution(site, "first", "first_mod")
    long_ago = 1_600_000_000
    os.utime(site, (long_ago, long_ago))  # a folder that has not changed for a while
    monkeypatch.setattr(sys, "path", [str(site)])
    monkeypatch.setenv("SNAKEPIT_CACHE_DIR", str(tmp_path / "cache"))
    assert [ep.name for ep in scan("snakepit")] == ["first"]
    assert list((tmp_path / "cache").iterdir()), "a settled folder's scan is cached"
    assert [ep.name for ep in scan("snakepit")] == ["first"]
    _fake_distribution(site, "second", "second_mod")  # an install changes the folder's mtime
    assert [ep.name for ep in scan("snakepit")] == ["first", "second"]
    # A folder that just changed is not cached, so its next change cannot be hidden.
    cache_file = next((tmp_path / "cache").iterdir())
    assert "second" not in cache_file.read_text()
    cache_file.write_text("{not json")
    assert [ep.name for ep in scan("snakepit")] == ["first", "second"]
    monkeypatch.setenv("SNAKEPIT_CACHE_DIR", "")
    assert entrypoints._cache_file("snakepit") is None


def test_disabled_and_incompatible_plugins_are_never_imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each module would raise on import, so "never imported" is observable.
    for name in ("denied", "unwanted", "future"):
        (tmp_path / f"{name}_mod.py").write_text(f"raise RuntimeError('{name} was imported')\n")
    _fake_distribution(tmp_path, "denied", "denied_mod")
    _fake_distribution(tmp_path, "unwanted", "unwanted_mod")
    _fake_distribution(tmp_path, "future", "future_mod", requires="snakepit-host (>=9.0)")
    (tmp_path / "wanted_mod.py").write_text(
        "from snakepit_host import hookimpl\n@hookimpl\ndef register_commands(register):\n"
        "    register.command('wanted', lambda ctx, params: 'yes')\n"
    )
    _fake_distribution(tmp_path, "wanted", "wanted_mod")
    monkeypatch.syspath_prepend(str(tmp_path))
    manager = PluginManager(allow=["wanted", "future", "denied"], deny=["denied"])
    manager.load_builtins()
    manager.load_entry_points([str(tmp_path)])
    registry = manager.build_registry()
    status = {name: record.status for name, record in manager.records.items()}
    assert status == {
        "core": "loaded",
        "denied": "disabled",
        "future": "incompatible",
        "unwanted": "disabled",
        "wanted": "loaded",
    }
    assert manager.records["future"].error == f"requires snakepit-host >=9.0, this host is {__version__}"
    assert "wanted" in registry.commands


def test_essential_builtins_cannot_be_disabled() -> None:
    manager = PluginManager(allow=[], deny=["core"])
    manager.load_builtins()
    assert manager.records["core"].status == "loaded"


def test_duplicate_entry_point_names_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for dist in ("first-dist", "second-dist"):
        module = dist.replace("-", "_")
        (tmp_path / f"{module}.py").write_text(
            f"from snakepit_host import hookimpl\n@hookimpl\ndef register_commands(register):\n"
            f"    register.command('{module}', lambda ctx, params: 1)\n"
        )
        _fake_distribution(tmp_path, dist, module, ep_name="same")
    monkeypatch.syspath_prepend(str(tmp_path))
    manager = PluginManager()
    manager.load_entry_points([str(tmp_path)])
    errors = [r for r in manager.records.values() if r.status == "error"]
    assert len(errors) == 1 and "already used by distribution 'first-dist'" in (errors[0].error or "")


@pytest.mark.parametrize(
    ("specifier", "version", "ok"),
    [
        (">=0.1,<0.2", "0.1.0", True),
        (">=0.1,<0.2", "0.2.0", False),
        ("~=0.1.0", "0.1.5", True),
        ("~=0.1.0", "0.2.0", False),
        ("==0.1.*", "0.1.9", True),
        ("!=0.1.*", "0.1.9", False),
        ("==1.0", "1", True),
        (">1.0", "1.0", False),
        ("", "3.0", True),
        ("garbage", "1.0", False),
    ],
)
def test_version_matching(specifier: str, version: str, ok: bool) -> None:
    assert version_matches(specifier, version) is ok


def test_requirement_lookup_ignores_extras() -> None:
    requirements = ['snakepit-host[dev]>=0.1; extra == "test"', "Snakepit_Host (>=0.1,<0.2)", "numpy"]
    assert requirement_for(requirements, "snakepit-host") == ">=0.1,<0.2"
    assert requirement_for(["numpy"], "snakepit-host") is None


def test_importing_the_host_loads_no_plugins() -> None:
    import subprocess
    import sys

    code = (
        "import sys, snakepit_host\n"
        "loaded = [m for m in sys.modules if m.startswith(("
        "'snakepit_host._plugin_manager', 'snakepit_host._entry_points', "
        "'snakepit_variables', 'snakepit_tools', 'snakepit_dspy', 'snakepit_example', 'grpc'))]\n"
        "print(loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_a_hung_host_stopping_hook_is_abandoned_at_the_deadline() -> None:
    import threading
    import time

    release = threading.Event()

    class Stuck:
        @hookimpl
        def host_stopping(self, host: Any) -> None:
            release.wait(30)

    manager = _manager()
    manager.add(Stuck, "stuck")
    manager.build_registry()
    loop = BackgroundLoop()
    started = time.monotonic()
    try:
        manager.call_lifecycle("host_stopping", loop, timeout=0.3, bounded=True, host=None)
    finally:
        release.set()
        loop.stop()
    assert time.monotonic() - started < 5, "shutdown waited for a stuck plugin"
    assert manager.records["stuck"].runtime_errors == [
        "host_stopping failed: TimeoutError: did not return within 0.3 s; carrying on without it"
    ]


# ---------------------------------------------------------------- hooks are pluggy calls


def test_every_hook_call_goes_through_pluggy() -> None:
    """pluggy's monitoring sees the host's calls: registration, prepare_tool, lifecycle, resolve_command."""

    class Everything:
        @hookimpl
        def register_tools(self, register: Any) -> None:
            register.tool(lambda a: a, name="identity")

        @hookimpl
        def prepare_tool(self, tool: Any) -> Any:
            return None

        @hookimpl
        def host_started(self, host: Any) -> None:
            pass

        @hookimpl
        def resolve_command(self, name: str) -> Any:
            return None

    seen: list[tuple[str, list[str]]] = []
    manager = _manager()
    manager.add(Everything, "everything")
    undo = manager.pm.add_hookcall_monitoring(
        lambda name, impls, kwargs: seen.append((name, [impl.plugin_name for impl in impls])),
        lambda outcome, name, impls, kwargs: None,
    )
    manager.build_registry()
    loop = BackgroundLoop()
    try:
        manager.call_lifecycle("host_started", loop, host=None)
    finally:
        loop.stop()
    assert manager.resolve_command("nope", "s", None) == (None, [])  # type: ignore[arg-type]
    undo()
    assert ("register_commands", ["core"]) in seen and ("register_tools", ["everything"]) in seen
    assert [call for call in seen if call[0] in ("prepare_tool", "host_started", "resolve_command")] == [
        ("prepare_tool", ["everything"]),
        ("host_started", ["everything"]),
        ("resolve_command", ["everything"]),
    ]
    assert all(len(plugins) == 1 for _, plugins in seen), "each plugin is called on its own"


def test_order_is_builtins_then_tryfirst_normal_trylast_then_by_name() -> None:
    calls: list[str] = []

    def plugin(name: str, *, tryfirst: bool = False, trylast: bool = False) -> type:
        def register_commands(self: Any, register: Any) -> None:
            calls.append(name)

        marked = hookimpl(tryfirst=tryfirst, trylast=trylast)(register_commands)
        return type(name, (), {"register_commands": marked})

    manager = PluginManager()
    manager.add(plugin("late", trylast=True), "late")
    manager.add(plugin("plain_b"), "plain_b")
    manager.add(plugin("first", tryfirst=True), "first")
    manager.add(plugin("plain_a"), "plain_a")
    manager.load_builtins()  # built-ins come first whenever they were loaded
    registry = manager.build_registry()
    assert calls == ["first", "plain_b", "plain_a", "late"]
    assert next(iter(registry.commands.values())).owner == "core"


def test_first_registrant_keeps_a_name_in_call_order() -> None:
    class Eager:
        @hookimpl(tryfirst=True)
        def register_commands(self, register: Any) -> None:
            register.command("contested", lambda ctx, params: "eager")

    class Plain:
        @hookimpl
        def register_commands(self, register: Any) -> None:
            register.command("contested", lambda ctx, params: "plain")

    manager = _manager()
    manager.add(Plain, "plain")
    manager.add(Eager, "eager")
    registry = manager.build_registry()
    assert registry.commands["contested"].owner == "eager" and manager.records["plain"].status == "error"


class OldStyleWrapper:
    @hookimpl(hookwrapper=True)
    def register_commands(self, register: Any) -> Any:
        yield


class NewStyleWrapper:
    @hookimpl(wrapper=True)
    def host_started(self, host: Any) -> Any:
        return (yield)


class AsyncRegistration:
    @hookimpl
    async def register_types(self, register: Any) -> None:
        pass


class AsyncPreparer:
    @hookimpl
    async def prepare_tool(self, tool: Any) -> Any:
        return None


class GeneratorHook:
    @hookimpl
    def register_commands(self, register: Any) -> Any:
        register.command("lazy_gen", lambda ctx, params: None)
        yield


@pytest.mark.parametrize(
    ("plugin", "reason"),
    [
        (OldStyleWrapper, "register_commands is marked hookwrapper=True; host hooks are called plugin by plugin"),
        (NewStyleWrapper, "host_started is marked wrapper=True"),
        (AsyncRegistration, "register_types is 'async def', which only the lifecycle hooks"),
        (AsyncPreparer, "prepare_tool is 'async def'"),
        (GeneratorHook, "register_commands is a generator function"),
    ],
)
def test_unsupported_hook_forms_are_refused_at_load(plugin: type, reason: str) -> None:
    manager = _manager()
    record = manager.add(plugin, "odd")
    assert record.status == "error" and reason in (record.error or ""), record.error
    assert "odd" not in {r.name for r in manager.loaded()}
    assert manager.pm.get_plugin("odd") is None
    with pytest.raises(PluginLoadError, match="odd"):
        _manager(strict=True).add(plugin, "odd")


@pytest.mark.parametrize(
    "module_name",
    [
        "snakepit_host.hookspecs",
        "snakepit_host._core_plugin",
        "snakepit_variables.plugin",
        "snakepit_variables.hookspecs",
        "snakepit_tools.plugin",
        "snakepit_dspy.plugin",
        "snakepit_adapters.plugin",
        "snakepit_otel.plugin",
        "snakepit_example.plugin",
    ],
)
def test_the_managers_attribute_scan_finds_what_pluggy_finds(module_name: str) -> None:
    """The host's manager skips module attributes that cannot be hooks; pluggy's own judgement must agree."""
    import importlib

    import pluggy

    from snakepit_host import hookspecs

    module = importlib.import_module(module_name)
    ours = PluginManager().pm
    theirs = pluggy.PluginManager(hookspecs.PROJECT)
    for name in dir(module):
        assert ours.parse_hookimpl_opts(module, name) == theirs.parse_hookimpl_opts(module, name), name
        assert ours.parse_hookspec_opts(module, name) == theirs.parse_hookspec_opts(module, name), name
    found = [
        name for name in dir(module) if ours.parse_hookimpl_opts(module, name) or ours.parse_hookspec_opts(module, name)
    ]
    assert found, f"{module_name} declares no hook at all: the comparison above proved nothing"
