"""Generate the Python modules of ESP-IDF's provisioning messages (`make esp-proto`).

protoc names an imported file's module after its bare file name (`import constants_pb2`)
because ESP-IDF's definitions have no package; the generated modules live in the
package `adapters.esp_prov.proto`, so those imports are rewritten as relative ones.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PROTO_DIR = Path(__file__).resolve().parent.parent / "adapters" / "esp_prov" / "proto"
_FLAT_IMPORT = re.compile(r"^import (\w+_pb2)( as \w+)?$", re.MULTILINE)


def main() -> int:
    protos = sorted(path.name for path in PROTO_DIR.glob("*.proto"))
    for stale in [*PROTO_DIR.glob("*_pb2.py"), *PROTO_DIR.glob("*_pb2.pyi")]:
        stale.unlink()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"--proto_path={PROTO_DIR}",
            f"--python_out={PROTO_DIR}",
            f"--plugin=protoc-gen-mypy={Path(sys.executable).parent / 'protoc-gen-mypy'}",
            f"--mypy_out={PROTO_DIR}",
            *protos,
        ],
        check=True,
        cwd=PROTO_DIR,
    )
    for module in [*PROTO_DIR.glob("*_pb2.py"), *PROTO_DIR.glob("*_pb2.pyi")]:
        text = module.read_text()
        module.write_text(_FLAT_IMPORT.sub(r"from . import \1\2", text))
    print(f"generated {len(protos)} modules in {PROTO_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
