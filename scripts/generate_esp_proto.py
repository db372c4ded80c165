"""Generate the Python modules of ESP-IDF's provisioning messages (`make esp-proto`).

protoc names an imported file's module after its bare file name (`import constants_pb2`)
because ESP-IDF's definitions have no package; the generated modules live in the
package `adapters.esp_prov.proto`, so those imports are rewritten as relative ones.

`--out DIR` writes them elsewhere (the tests compare a fresh generation with the
committed modules).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

PROTO_DIR = Path(__file__).resolve().parent.parent / "adapters" / "esp_prov" / "proto"
_FLAT_IMPORT = re.compile(r"^import (\w+_pb2)( as \w+)?$", re.MULTILINE)


def generate(out: Path) -> list[Path]:
    """Generate every module into `out`; the paths written."""
    protos = sorted(path.name for path in PROTO_DIR.glob("*.proto"))
    for stale in [*out.glob("*_pb2.py"), *out.glob("*_pb2.pyi")]:
        stale.unlink()
    plugin = Path(sys.executable).parent / "protoc-gen-mypy"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"--proto_path={PROTO_DIR}",
            f"--python_out={out}",
            f"--plugin=protoc-gen-mypy={plugin}",
            f"--mypy_out=quiet:{out}",
            *protos,
        ],
        check=True,
        cwd=PROTO_DIR,
    )
    written = sorted([*out.glob("*_pb2.py"), *out.glob("*_pb2.pyi")])
    for module in written:
        module.write_text(_FLAT_IMPORT.sub(r"from . import \1\2", module.read_text()))
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROTO_DIR)
    args = parser.parse_args()
    written = generate(args.out)
    print(f"generated {len(written)} files in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
