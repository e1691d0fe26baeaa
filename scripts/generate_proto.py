"""Regenerate the committed protobuf/gRPC modules from snakepit_bridge.proto.

Run ``python scripts/generate_proto.py`` after editing the .proto. With
``--check`` nothing is written: the modules are generated into a temporary
directory and compared with the committed ones, and the exit status says
whether they are stale (the test suite runs this). Any Python will do: one
without grpcio-tools hands over to the checkout's ``.venv`` (``scripts/setup``
makes it), so the modules always come from the pinned grpcio-tools.

The proto is compiled with the repository root as include path, so the
generated gRPC module imports ``snakepit_host.proto.snakepit_bridge_pb2``
and works inside the package without sys.path tricks.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent
PROTO = Path("snakepit_host/proto/snakepit_bridge.proto")
GENERATED = ("snakepit_bridge_pb2.py", "snakepit_bridge_pb2.pyi", "snakepit_bridge_pb2_grpc.py")


VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


def generate(out_dir: Path) -> None:
    """Compile the proto into ``out_dir`` (mirroring the package layout)."""
    try:
        import grpc_tools
        from grpc_tools import protoc
    except ImportError:
        run_in_venv()
    include = Path(grpc_tools.__file__).parent / "_proto"
    status = protoc.main(
        [
            "protoc",
            f"-I{ROOT}",
            f"-I{include}",
            f"--python_out={out_dir}",
            f"--pyi_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            str(ROOT / PROTO),
        ]
    )
    if status != 0:
        sys.exit(f"protoc failed with status {status}")


def run_in_venv() -> NoReturn:
    """Run this script again with the checkout's venv (which has grpcio-tools), or explain what to do."""
    if Path(sys.prefix).resolve() == VENV_PYTHON.parent.parent.resolve() or not VENV_PYTHON.exists():
        sys.exit(
            f"grpcio-tools is not installed for {sys.executable}, and {VENV_PYTHON} "
            + ("does not have it either" if VENV_PYTHON.exists() else "does not exist")
            + ": run scripts/setup, then .venv/bin/python scripts/generate_proto.py"
        )
    os.execv(VENV_PYTHON, [str(VENV_PYTHON), str(Path(__file__).resolve()), *sys.argv[1:]])


def stale_files() -> list[str]:
    """Names of committed modules that differ from a fresh generation."""
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        fresh = Path(tmp) / PROTO.parent
        committed = ROOT / PROTO.parent
        return [
            name
            for name in GENERATED
            if not (committed / name).exists() or not filecmp.cmp(fresh / name, committed / name, shallow=False)
        ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale modules")
    args = parser.parse_args()
    if args.check:
        stale = stale_files()
        if stale:
            print("stale generated modules: " + ", ".join(stale), file=sys.stderr)
            print("run: python scripts/generate_proto.py", file=sys.stderr)
            return 1
        print("generated modules are up to date")
        return 0
    generate(ROOT)
    print(f"regenerated {', '.join(GENERATED)} in {PROTO.parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
