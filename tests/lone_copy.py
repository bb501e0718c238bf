"""Run a standalone verifier from a lone copy of its file, and see what it imported.

Isolated (``-I``), from a folder holding nothing but the copy: no project, no
Django, no PyJWT.  The probe reports the exit status and every top-level
module loaded beyond the standard library and ``cryptography``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

_PROBE = (
    "import runpy, sys\n"
    "before = set(sys.modules)\n"
    "sys.argv = [sys.argv[1], *sys.argv[2:]]\n"
    "try:\n"
    "    runpy.run_path(sys.argv[0], run_name='__main__')\n"
    "except SystemExit as exc:\n"
    "    code = exc.code\n"
    "allowed = set(sys.stdlib_module_names) | {'cryptography', '_openssl', '_cffi_backend'}\n"
    "others = {m.split('.')[0] for m in set(sys.modules) - before} - allowed\n"
    "print('EXIT', code, 'OTHERS', sorted(others))\n"
)

# What the probe prints last when the verifier succeeded and imported nothing else.
ALONE_AND_OK = "EXIT 0 OTHERS []"


def run_lone_copy(source: Path, folder: Path, argv: list[object]) -> subprocess.CompletedProcess[str]:
    """Copy ``source`` alone into ``folder`` and run it with ``argv`` under the probe."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / source.name
    shutil.copy(source, copy)
    return subprocess.run(
        [sys.executable, "-I", "-c", _PROBE, str(copy), *map(str, argv)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )
