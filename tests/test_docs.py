"""The guides say what the code does.

docs/plugins.md must show every hook spec (the host's, and every hook an
installed plugin declares) with its real signature and options, and every
public method of the registrars with its real signature; its quick-start
package must install, list, serve and pass its own tests. docs/snakepit.md
must list the real exit codes and sub-commands. Every link between the README, the
guides and the plugin, example and bench READMEs must reach its file and heading.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hostproc import HostProcess
from installed_hooks import all_hook_specs
from plugin_packages import ROOT, SNAKEPIT_HOST, cli_env, listing, pip_install, run_cli

from snakepit_host import EntryRegistrar, OptionRegistrar, Registrar, cli, hookspecs

PLUGIN_GUIDE = ROOT / "docs" / "plugins.md"
OPERATING_GUIDE = ROOT / "docs" / "snakepit.md"
FENCE = re.compile(r"(?:<!-- file: (?P<file>[^ ]+) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)```", re.S)
Spawn = Callable[..., HostProcess]


def code_blocks(path: Path, lang: str) -> list[tuple[str | None, str]]:
    """(file name from a ``<!-- file: ... -->`` marker or None, body) of each fenced block in ``lang``."""
    return [(m["file"], m["body"]) for m in FENCE.finditer(path.read_text()) if m["lang"] == lang]


def python_functions(path: Path) -> list[tuple[ast.FunctionDef, ast.ClassDef | None]]:
    """Every function defined in the guide's Python blocks, with its class."""
    found: list[tuple[ast.FunctionDef, ast.ClassDef | None]] = []
    for _, body in code_blocks(path, "python"):
        tree = ast.parse(body)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                found.append((node, None))
            elif isinstance(node, ast.ClassDef):
                found += [(item, node) for item in node.body if isinstance(item, ast.FunctionDef)]
    return found


# ---------------------------------------------------------------- signatures, normalised through ast


def _annotation(node: ast.expr | None) -> str | None:
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # postponed annotations are strings
        node = ast.parse(node.value, mode="eval").body
    return ast.unparse(node)


def _param(arg: ast.arg, default: ast.expr | None, prefix: str = "") -> str:
    text = prefix + arg.arg
    annotation = _annotation(arg.annotation)
    if annotation is not None:
        text += f": {annotation}"
    if default is not None:
        text += f" = {ast.unparse(default)}"
    return text


def rendered(function: ast.FunctionDef) -> str:
    """A canonical ``(params) -> return`` text: same for the same signature whatever the spacing or quoting."""
    args = function.args
    positional = args.posonlyargs + args.args
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    parts = [_param(arg, default) for arg, default in zip(positional, defaults, strict=True)]
    if args.posonlyargs:
        parts.insert(len(args.posonlyargs), "/")
    if args.vararg is not None:
        parts.append(_param(args.vararg, None, "*"))
    elif args.kwonlyargs:
        parts.append("*")
    parts += [_param(arg, default) for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True)]
    if args.kwarg is not None:
        parts.append(_param(args.kwarg, None, "**"))
    returns = _annotation(function.returns)
    return f"({', '.join(parts)})" + (f" -> {returns}" if returns is not None else "")


def rendered_code(function: Callable[..., Any]) -> str:
    """The same canonical text for a live function, from its source (defaults as written: ``type = str``)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    definition = next(node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef))
    return rendered(definition)


def _spec_options(decorator: ast.expr) -> dict[str, Any] | None:
    """``{"firstresult": True}`` for ``@hookspec(firstresult=True)``, ``{"kind": "k"}`` for
    ``@registration_hookspec("k")``; None when not a hookspec decorator."""
    if isinstance(decorator, ast.Name) and decorator.id == "hookspec":
        return {}
    if not isinstance(decorator, ast.Call) or not isinstance(decorator.func, ast.Name):
        return None
    if decorator.func.id == "hookspec":
        assert all(keyword.arg for keyword in decorator.keywords), "hookspec options are spelled out, not **unpacked"
        return {str(keyword.arg): ast.literal_eval(keyword.value) for keyword in decorator.keywords}
    if decorator.func.id == "registration_hookspec":
        return {"kind": ast.literal_eval(decorator.args[0])}
    return None


def code_options(spec: Callable[..., Any]) -> dict[str, Any]:
    """The same for a live spec: its pluggy options that are set, and its registration kind."""
    options = {k: v for k, v in getattr(spec, f"{hookspecs.PROJECT}_spec").items() if v and k != "warn_on_impl"}
    kind = getattr(spec, hookspecs.REGISTRATION_KIND_ATTRIBUTE, None)
    return {"kind": kind} if kind is not None else options


def documented_specs() -> dict[str, tuple[str, dict[str, Any]]]:
    specs: dict[str, tuple[str, dict[str, Any]]] = {}
    for function, cls in python_functions(PLUGIN_GUIDE):
        for decorator in function.decorator_list:
            options = _spec_options(decorator)
            if options is not None and cls is None:
                specs[function.name] = (rendered(function), options)
    return specs


def test_every_python_block_of_the_guides_parses() -> None:
    for guide in (PLUGIN_GUIDE, OPERATING_GUIDE):
        for index, (_, body) in enumerate(code_blocks(guide, "python")):
            try:
                ast.parse(body)
            except SyntaxError as exc:
                pytest.fail(f"{guide.name}: python block {index + 1} does not parse: {exc}\n{body}")


def every_spec() -> dict[str, Callable[..., Any]]:
    """The spec function of every hook: the host's and the installed plugins' own."""
    specs = {name: caller.spec.function for name, caller in all_hook_specs().items() if caller.spec}
    assert set(hookspecs.hook_names()) < set(specs), "the installed plugins declare hooks of their own"
    return specs


def test_every_hook_spec_is_in_the_guide_with_its_exact_signature() -> None:
    documented = documented_specs()
    specs = every_spec()
    missing = [name for name in specs if name not in documented]
    assert not missing, f"docs/plugins.md lacks a '@hookspec def ...' block for: {', '.join(missing)}"
    for name, spec in specs.items():
        signature, documented_options = documented[name]
        code = rendered_code(spec)
        if next(iter(inspect.signature(spec).parameters), None) == "self":  # a spec declared as a method
            code = code.replace("(self, ", "(", 1)
        assert signature == code, f"docs/plugins.md shows {name}{signature}, the code has {code}"
        assert documented_options == code_options(spec), f"docs/plugins.md shows {documented_options} on {name}"
    stale = sorted(set(documented) - set(specs))
    assert not stale, f"docs/plugins.md documents hooks that do not exist: {', '.join(stale)}"


def test_every_hook_has_its_own_section() -> None:
    text = PLUGIN_GUIDE.read_text()
    missing = [name for name in every_spec() if f"\n### `{name}`\n" not in text]
    assert not missing, f"docs/plugins.md has no '### `name`' section for: {', '.join(missing)}"


@pytest.mark.parametrize("registrar", [Registrar, EntryRegistrar, OptionRegistrar], ids=lambda cls: cls.__name__)
def test_every_registrar_method_is_documented_with_its_signature(registrar: type) -> None:
    documented = {
        fn.name: rendered(fn) for fn, cls in python_functions(PLUGIN_GUIDE) if cls and cls.name == registrar.__name__
    }
    public = {
        name: rendered_code(member)
        for name, member in inspect.getmembers(registrar, inspect.isfunction)
        if not name.startswith("_") or (name == "__call__" and "__call__" in vars(registrar))
    }
    undocumented = sorted(set(public) - set(documented))
    assert not undocumented, f"{registrar.__name__} methods missing from docs/plugins.md: {', '.join(undocumented)}"
    stale = sorted(set(documented) - set(public))
    assert not stale, f"docs/plugins.md documents {registrar.__name__} methods that do not exist: {', '.join(stale)}"
    for name, signature in public.items():
        assert documented[name] == signature, f"{registrar.__name__}.{name}: guide {documented[name]} != {signature}"
    text = PLUGIN_GUIDE.read_text()
    for name in public:
        shown = f"`{registrar.__name__}`" if name == "__call__" else f"**`{name}`**"
        assert shown in text, f"{registrar.__name__}.{name} has no explanation in the guide"


def test_the_signature_check_notices_a_difference() -> None:
    """The comparison itself: a changed annotation, default or keyword-only marker is a difference."""

    def reference(register: Registrar, *, strict: bool = False) -> None: ...

    for variant in (
        "def reference(register: Registrar, strict: bool = False) -> None: ...",
        "def reference(register: Registrar, *, strict: bool = True) -> None: ...",
        "def reference(register: Host, *, strict: bool = False) -> None: ...",
        "def reference(register: Registrar, *, strict: bool = False): ...",
    ):
        stub = ast.parse(variant).body[0]
        assert isinstance(stub, ast.FunctionDef) and rendered(stub) != rendered_code(reference), variant
    same = ast.parse("def reference(register:'Registrar',*,strict:bool=False)->None: ...").body[0]
    assert isinstance(same, ast.FunctionDef) and rendered(same) == rendered_code(reference)


# ---------------------------------------------------------------- the quick start, followed literally


@pytest.fixture(scope="module")
def quick_start(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The quick-start package written from the guide's file blocks, and the folder pip installed it into."""
    root = tmp_path_factory.mktemp("quick-start")
    files = [(name, body) for lang in ("toml", "python") for name, body in code_blocks(PLUGIN_GUIDE, lang) if name]
    assert {name for name, _ in files} >= {"snakepit-hello/pyproject.toml", "snakepit-hello/snakepit_hello/plugin.py"}
    for name, body in files:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body)
    package = root / "snakepit-hello"
    return package, pip_install([package], root / "install")


def test_quick_start_package_is_listed(quick_start: tuple[Path, Path]) -> None:
    _, site = quick_start
    hello = listing(cli_env(site))["hello"]
    assert (hello["status"], hello["distribution"]) == ("loaded", "snakepit-hello")
    assert hello["provides"] == {"commands": ["countdown"], "tools": ["greet"]}


def test_quick_start_calls(quick_start: tuple[Path, Path], spawn_host: Spawn) -> None:
    _, site = quick_start
    env = cli_env(site)
    local = run_cli(["call", "greet", "--local", "--params", '{"name": "Ada"}'], env)
    assert json.loads(local.stdout) == "Hello, Ada!", local.stderr
    host = spawn_host([SNAKEPIT_HOST, "serve", "--port", "0"], env)
    address = f"127.0.0.1:{host.wait_ready()}"
    remote = run_cli(["call", "greet", "--params", '{"name": "Ada"}', "--address", address], env)
    assert json.loads(remote.stdout) == "Hello, Ada!", remote.stderr
    streamed = run_cli(["call", "countdown", "--stream", "--params", '{"start": 2}', "--address", address], env)
    assert streamed.stdout.splitlines() == ["2", "1"], streamed.stderr
    host.process.terminate()
    assert host.wait() == 0


def test_quick_start_tests_pass_with_the_kit(quick_start: tuple[Path, Path]) -> None:
    package, site = quick_start
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(package / "tests"), "-q", "-p", "no:cacheprovider"],
        cwd=package,
        env=cli_env(site),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout, done.stdout


# ---------------------------------------------------------------- the operating guide


def test_operating_guide_lists_the_real_exit_codes() -> None:
    rows = dict(re.findall(r"^\| `(\d+)` \| (.+?) \|$", OPERATING_GUIDE.read_text(), re.M))
    codes = {value for name, value in vars(cli).items() if name.startswith("EXIT_")}
    assert {int(code) for code in rows} == codes, rows


def test_operating_guide_covers_every_sub_command() -> None:
    text = OPERATING_GUIDE.read_text()
    missing = [name for name in cli.SUBCOMMANDS if name != "version" and f"snakepit-host {name}" not in text]
    assert not missing, f"docs/snakepit.md does not mention: {', '.join(missing)}"


# ---------------------------------------------------------------- links between the docs

GUIDES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench" / "README.md"]
GUIDES += [*sorted(ROOT.glob("plugins/*/README.md")), *sorted(ROOT.glob("examples/*/README.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def without_code(text: str) -> str:
    return re.sub(r"```.*?```", "", text, flags=re.S)


def anchors(path: Path) -> set[str]:
    """The #fragments GitHub gives ``path``'s headings: lower case, punctuation dropped, spaces to
    dashes, repeats numbered."""
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+)$", without_code(path.read_text()), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        repeat, numbered = 0, slug
        while numbered in found:
            repeat += 1
            numbered = f"{slug}-{repeat}"
        found.add(numbered)
    return found


def broken_links(path: Path) -> list[str]:
    broken = []
    for link in LINK.findall(without_code(path.read_text())):
        if re.match(r"[a-z]+:", link):
            continue  # https:, mailto:
        target, _, fragment = link.partition("#")
        resolved = (path.parent / target) if target else path
        if not resolved.exists():
            broken.append(f"{link} (no such file)")
        elif fragment and (resolved.suffix != ".md" or fragment not in anchors(resolved)):
            broken.append(f"{link} (no such heading)")
    return broken


def test_links_between_the_docs_resolve() -> None:
    broken = {str(path.relative_to(ROOT)): links for path in GUIDES if (links := broken_links(path))}
    assert broken == {}
    assert len(GUIDES) >= 10


def test_the_link_check_notices_a_missing_heading_or_file(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Use it: from `Snakepit`\n\n## Use it: from `Snakepit`\n")
    (tmp_path / "b.md").write_text("[ok](a.md#use-it-from-snakepit-1) [no](a.md#use-it) [gone](c.md)\n")
    assert broken_links(tmp_path / "b.md") == ["a.md#use-it (no such heading)", "c.md (no such file)"]
