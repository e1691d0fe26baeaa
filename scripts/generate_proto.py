"""Regenerate the committed protobuf/gRPC modules from snakepit_bridge.proto.

Run ``python scripts/generate_proto.py`` after editing the .proto. With
``--check`` nothing is written: the modules are generated into a temporary
directory and compared with the committed ones, and the exit status says
whether they are stale (the test suite runs this).

The proto is compiled with the repository root as include path, so the
generated gRPC module imports ``snakepit_host.proto.snakepit_bridge_pb2``
and works inside the package without sys.path tricks.
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO = Path("snakepit_host/proto/snakepit_bridge.proto")
GENERATED = ("snakepit_bridge_pb2.py", "snakepit_bridge_pb2.pyi", "snakepit_bridge_pb2_grpc.py")


def generate(out_dir: Path) -> None:
    """Compile the proto into ``out_dir`` (mirroring the package layout)."""
    try:
        import grpc_tools
        from grpc_tools import protoc
    except ImportError:
        sys.exit("grpcio-tools is not installed: pip install -r requirements-dev.txt")
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
