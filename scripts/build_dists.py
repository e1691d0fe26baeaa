"""Build every distribution's sdist and wheel into one folder, and check them.

Run ``scripts/dist`` (it sets up .venv first), or ``.venv/bin/python
scripts/build_dists.py [--out DIR]``; the default folder is ``dist/``.

The distributions are found, not listed: the host (``pyproject.toml`` at the
root), ``plugins/*/pyproject.toml`` and ``examples/*/pyproject.toml``, so a new
plugin distribution is built and checked without editing this script. Each is
built from a copy of its folder (no ``build/`` or ``*.egg-info`` lands in the
checkout) by ``python -m build --no-isolation``, which builds the sdist and
then the wheel *from the unpacked sdist*: a file the sdist forgets breaks the
wheel. Then, for every distribution:

* its core metadata (wheel and sdist) is valid by ``packaging.metadata``, with a
  license expression and at least one ``Project-URL``;
* the wheel and the sdist both carry ``LICENSE``;
* the sdist carries ``tests/conftest.py`` when the folder has tests of its own
  (the host's ``tests/`` are repository tests: see ``MANIFEST.in``);
* every relative link of its README names a file that some sdist of this set
  ships (its own, or the one a link into a sibling folder leads to);
* all wheels, installed together into a throwaway venv (``--no-deps``; their
  dependencies come from this venv), give a ``snakepit-host`` whose ``plugins``
  listing shows every ``snakepit`` entry point of the wheels as ``loaded``,
  imported from the throwaway venv.

Every problem is printed, one line each, and the exit status is 1 if there was any.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from packaging.metadata import Metadata

ROOT = Path(__file__).resolve().parent.parent
COPY_IGNORES = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)
LINK = re.compile(r"\]\(([^)\s]+)\)")


@dataclass
class Built:
    """One distribution's folder and what was built from it."""

    folder: Path
    sdist: Path
    wheel: Path
    sdist_files: set[str] = field(default_factory=set)  # paths relative to the folder
    wheel_files: set[str] = field(default_factory=set)

    @property
    def name(self) -> str:
        return self.wheel.name.split("-", 1)[0]


def distribution_folders() -> list[Path]:
    """The root, then every plugins/* and examples/* folder holding a pyproject.toml."""
    found = sorted(ROOT.glob("plugins/*/pyproject.toml")) + sorted(ROOT.glob("examples/*/pyproject.toml"))
    return [ROOT, *(path.parent for path in found)]


def build(folder: Path, out: Path, scratch: Path) -> Built:
    source = scratch / "src" / (folder.name if folder != ROOT else "host")
    shutil.copytree(folder, source, ignore=COPY_IGNORES)
    target = scratch / "out" / source.name
    command = [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(target), str(source)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise SystemExit(f"building {folder} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    (sdist,) = target.glob("*.tar.gz")
    (wheel,) = target.glob("*.whl")
    built = Built(folder, out / sdist.name, out / wheel.name)
    for artefact in (sdist, wheel):
        shutil.copy2(artefact, out / artefact.name)
    with tarfile.open(built.sdist) as archive:
        # Members are "<name>-<version>/<path>"; keep <path>, as it lies in the folder.
        built.sdist_files = {member.name.split("/", 1)[1] for member in archive.getmembers() if "/" in member.name}
    with zipfile.ZipFile(built.wheel) as archive:
        built.wheel_files = set(archive.namelist())
    return built


def metadata_problems(built: Built) -> list[str]:
    problems = []
    with zipfile.ZipFile(built.wheel) as archive:
        wheel_meta = next(name for name in built.wheel_files if name.endswith(".dist-info/METADATA"))
        texts = {"wheel": archive.read(wheel_meta)}
    with tarfile.open(built.sdist) as archive:
        pkg_info = next(m for m in archive.getmembers() if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO"))
        handle = archive.extractfile(pkg_info)
        assert handle is not None
        texts["sdist"] = handle.read()
    for kind, text in texts.items():
        try:
            metadata = Metadata.from_email(text, validate=True)
        except Exception as exc:  # ExceptionGroup of every invalid field
            details = "; ".join(str(e) for e in getattr(exc, "exceptions", [exc]))
            problems.append(f"{built.name}: {kind} metadata is invalid: {details}")
            continue
        if not metadata.license_expression:
            problems.append(f"{built.name}: {kind} metadata has no License-Expression")
        if not metadata.project_urls:
            problems.append(f"{built.name}: {kind} metadata has no Project-URL")
        if "LICENSE" not in (metadata.license_files or []):
            problems.append(f"{built.name}: {kind} metadata names no License-File LICENSE")
    return problems


def content_problems(built: Built) -> list[str]:
    problems = []
    if "LICENSE" not in built.sdist_files:
        problems.append(f"{built.name}: the sdist has no LICENSE")
    if not any(name.endswith(".dist-info/licenses/LICENSE") for name in built.wheel_files):
        problems.append(f"{built.name}: the wheel has no .dist-info/licenses/LICENSE")
    if built.folder != ROOT and (built.folder / "tests").is_dir():
        shipped = {name for name in built.sdist_files if name.startswith("tests/")}
        missing = sorted(
            path.relative_to(built.folder).as_posix()
            for path in (built.folder / "tests").rglob("*.py")
            if "__pycache__" not in path.parts and path.relative_to(built.folder).as_posix() not in shipped
        )
        if missing:
            problems.append(f"{built.name}: the sdist lacks {', '.join(missing)}")
    return problems


def link_problems(built: Built, everything: list[Built]) -> list[str]:
    """Relative README links must name something that some sdist ships (checked in checkout terms)."""
    shipped: set[Path] = set()
    for other in everything:
        for name in other.sdist_files:
            member = PurePosixPath(name)
            shipped.update(Path(os.path.normpath(other.folder / folder)) for folder in [member, *member.parents])
    declared = re.search(r'^readme = "(.+)"', (built.folder / "pyproject.toml").read_text(), re.M)
    readme = declared.group(1) if declared else "README.md"
    if readme not in built.sdist_files:
        return [f"{built.name}: the sdist has no {readme}"]
    problems = []
    for target in LINK.findall((built.folder / readme).read_text(encoding="utf-8")):
        if re.match(r"[a-z][a-z0-9+.-]*:|#", target):
            continue  # absolute URL or anchor
        relative = PurePosixPath(target.split("#", 1)[0])
        if Path(os.path.normpath((built.folder / readme).parent / relative)) not in shipped:
            problems.append(f"{built.name}: README link {target} names a file no sdist ships")
    return problems


def install_problems(everything: list[Built], scratch: Path) -> list[str]:
    """Install every wheel into a throwaway venv and list its plugins with its own snakepit-host."""
    venv = scratch / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()
    )
    # Dependencies (grpcio, numpy, dspy, ...) from this venv, after the venv's own site-packages.
    (site / "_dependencies_from_dev_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--disable-pip-version-check"]
    pip += ["--no-deps", "--no-index", *(str(built.wheel) for built in everything)]
    done = subprocess.run(pip, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        return [f"installing the wheels failed ({done.returncode}): {done.stderr.strip()[-2000:]}"]
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SNAKEPIT_", "PYTHON"))}
    env["SNAKEPIT_CACHE_DIR"] = ""  # scan for real
    listing = subprocess.run(
        [str(venv / "bin" / "snakepit-host"), "plugins", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=scratch,
        timeout=120,
        check=False,
    )
    if listing.returncode != 0:
        return [f"snakepit-host plugins failed in the throwaway venv ({listing.returncode}): {listing.stderr.strip()}"]
    records = {record["name"]: record for record in json.loads(listing.stdout)}
    problems = []
    for built in everything:
        for name, module in wheel_entry_points(built):
            record = records.get(name)
            if record is None:
                problems.append(f"{built.name}: plugin {name} is not listed by snakepit-host plugins")
            elif record["status"] != "loaded" or record["module"] != module:
                problems.append(f"{built.name}: plugin {name} is {record['status']}: {record.get('reason')}")
    probe = "import snakepit_host; print(snakepit_host.__file__)"
    where = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, env=env, cwd=scratch, timeout=60, check=False
    )
    if not where.stdout.startswith(str(site)):
        problems.append(f"the throwaway venv imports snakepit_host from {where.stdout.strip() or where.stderr.strip()}")
    return problems


def wheel_entry_points(built: Built) -> list[tuple[str, str]]:
    with zipfile.ZipFile(built.wheel) as archive:
        names = [name for name in built.wheel_files if name.endswith(".dist-info/entry_points.txt")]
        if not names:
            return []
        text = archive.read(names[0]).decode()
    found, group = [], ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            group = line.strip("[]")
        elif group == "snakepit" and "=" in line:
            name, _, value = line.partition("=")
            found.append((name.strip(), value.strip()))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="folder for the sdists and wheels")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="snakepit-dists-") as tmp:
        scratch = Path(tmp)
        everything = []
        for folder in distribution_folders():
            built = build(folder, out, scratch)
            print(f"built {built.sdist.name} and {built.wheel.name}")
            everything.append(built)
        problems = []
        for built in everything:
            problems += metadata_problems(built) + content_problems(built) + link_problems(built, everything)
        problems += install_problems(everything, scratch)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"checked {len(everything)} distributions in {out}: metadata, LICENSE, tests, README links, install")
    return 0


if __name__ == "__main__":
    sys.exit(main())
