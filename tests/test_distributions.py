"""Every distribution builds into complete sdists and wheels (scripts/build_dists.py), and the
example's tests pass when run from its unpacked sdist, as a packager or a user would run them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import build_dists
import pytest
from plugin_packages import ROOT

pytestmark = pytest.mark.packaging
SCRIPT = Path(build_dists.__file__)


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)], capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"checked {len(build_dists.distribution_folders())} distributions" in done.stdout
    return out


def test_every_distribution_folder_is_built(dists: Path) -> None:
    names = {
        re.search(r'^name = "(.+)"', (folder / "pyproject.toml").read_text(), re.M)[1].replace("-", "_")  # type: ignore[index]
        for folder in build_dists.distribution_folders()
    }
    assert {path.name.split("-")[0] for path in dists.glob("*.tar.gz")} == names
    assert {path.name.split("-")[0] for path in dists.glob("*.whl")} == names


def test_every_wheel_and_sdist_carries_the_license_and_project_urls(dists: Path) -> None:
    license_text = (ROOT / "LICENSE").read_bytes()
    assert b"MIT License" in license_text
    for wheel in dists.glob("*.whl"):
        with zipfile.ZipFile(wheel) as archive:
            names = archive.namelist()
            assert archive.read(next(n for n in names if n.endswith(".dist-info/licenses/LICENSE"))) == license_text
            metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        assert "License-Expression: MIT\n" in metadata and "Project-URL: " in metadata, wheel.name
    for sdist in dists.glob("*.tar.gz"):
        top = sdist.name.removesuffix(".tar.gz")
        with tarfile.open(sdist) as archive:
            assert archive.extractfile(f"{top}/LICENSE").read() == license_text  # type: ignore[union-attr]
            metadata = archive.extractfile(f"{top}/PKG-INFO").read().decode()  # type: ignore[union-attr]
        assert "License-Expression: MIT\n" in metadata and "Project-URL: " in metadata, sdist.name


def test_the_example_sdist_tests_pass_unpacked(dists: Path, tmp_path: Path) -> None:
    (sdist,) = dists.glob("snakepit_example-*.tar.gz")
    shutil.unpack_archive(sdist, tmp_path / "unpacked")
    (unpacked,) = (tmp_path / "unpacked").iterdir()
    site = tmp_path / "site"  # the sdist installed, so the tests import its package and entry point
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps"]
    pip += ["--no-build-isolation", "--no-index", "--target", str(site), str(sdist)]
    subprocess.run(pip, check=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=unpacked,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(r"^\d+ passed in ", done.stdout.splitlines()[-1]), done.stdout[-500:]
    # What the tests imported came from the sdist (unpacked, or installed from it), not the checkout.
    probe = "import snakepit_example; print(snakepit_example.__file__)"
    where = subprocess.run([sys.executable, "-c", probe], cwd=unpacked, env=env, capture_output=True, text=True)
    assert where.stdout.startswith(str(tmp_path)), where


def test_the_checks_name_what_a_distribution_lacks(tmp_path: Path) -> None:
    folder = tmp_path / "incomplete"
    (folder / "incomplete_pkg").mkdir(parents=True)
    (folder / "incomplete_pkg" / "__init__.py").write_text("")
    (folder / "tests").mkdir()
    (folder / "tests" / "conftest.py").write_text("")
    (folder / "tests" / "test_it.py").write_text("def test_it():\n    pass\n")
    (folder / "README.md").write_text(
        "See [the guide](docs/guide.md) and [Snakepit](https://hex.pm/packages/snakepit).\n"
    )
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=77"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "incomplete"\nversion = "0.1.0"\nreadme = "README.md"\n\n'
        '[tool.setuptools]\npackages = ["incomplete_pkg"]\n'
    )
    (tmp_path / "out").mkdir()
    built = build_dists.build(folder, tmp_path / "out", tmp_path / "scratch")
    problems = build_dists.metadata_problems(built) + build_dists.content_problems(built)
    problems += build_dists.link_problems(built, [built])
    assert problems == [
        "incomplete: wheel metadata has no License-Expression",
        "incomplete: wheel metadata has no Project-URL",
        "incomplete: wheel metadata names no License-File LICENSE",
        "incomplete: sdist metadata has no License-Expression",
        "incomplete: sdist metadata has no Project-URL",
        "incomplete: sdist metadata names no License-File LICENSE",
        "incomplete: the sdist has no LICENSE",
        "incomplete: the wheel has no .dist-info/licenses/LICENSE",
        "incomplete: the sdist lacks tests/conftest.py",
        "incomplete: README link docs/guide.md names a file no sdist ships",
    ]
