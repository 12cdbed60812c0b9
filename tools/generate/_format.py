"""Generated source → the project's style: ruff sorts the imports and formats the code.

The generator computes which names each module imports and writes plain, unwrapped code;
layout (line breaks, import order) is ruff's, so generated files follow the same rules as
hand-written ones, E501 included. The ruff version is pinned in pyproject.toml: another
version may lay code out differently and make the byte-identical check fail.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

LINE_LENGTH = 100  # pyproject.toml's [tool.ruff] line-length


def _ruff() -> list[str]:
    beside_python = shutil.which("ruff", path=str(Path(sys.executable).parent))
    return [beside_python] if beside_python else [sys.executable, "-m", "ruff"]


def formatted(path: Path, source: str) -> str:
    """``source`` as ruff would leave ``path``: imports sorted, then formatted."""
    ruff = _ruff()
    steps = (
        [
            "check",
            "--fix",
            "--exit-zero",
            "--quiet",
            "--select",
            "I",
            "--stdin-filename",
            str(path),
            "-",
        ],
        ["format", "--quiet", "--stdin-filename", str(path), "-"],
    )
    for step in steps:
        result = subprocess.run(
            ruff + step, input=source, capture_output=True, text=True, timeout=60, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"ruff could not process generated {path}: {result.stderr}")
        source = result.stdout
    return "".join(_allow_long_entry(line) for line in source.splitlines(keepends=True))


def _allow_long_entry(line: str) -> str:
    """A ``"wire_name": python_name,`` entry longer than a line (two 60-character spec names)
    cannot be broken; it is the one kind of line allowed past the limit, and says so."""
    if len(line.rstrip("\n")) <= LINE_LENGTH or not re.fullmatch(r'\s*"\w+": \w+,\n?', line):
        return line
    return line.rstrip("\n") + "  # noqa: E501\n"
