"""The committed models and resources are exactly what the generator writes today."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_regenerating_changes_nothing() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.generate", "--check"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_all_249_operations_and_167_schemas_are_generated() -> None:
    import clerk_async.models as models
    from clerk_async import AsyncClerk

    rows = (ROOT / "spec" / "operations.tsv").read_text().splitlines()[1:]
    client = AsyncClerk("sk_test_x")
    names = {tuple(r.split("\t")[:2]) for r in rows}
    assert len(names) == 249
    for resource, method in names:
        assert callable(getattr(getattr(client, resource), method))
    import yaml

    spec = yaml.safe_load((ROOT / "spec" / "bapi-2026-05-12.yml").read_text())
    schemas = spec["components"]["schemas"]
    assert len(schemas) == 167
    from tools.generate._names import pascal
    from tools.generate._schemas import RENAMES

    missing = []
    for name, schema in schemas.items():
        if "properties" in schema or "allOf" in schema or "oneOf" in schema:
            expected = RENAMES.get(name) or pascal(name)
            if not hasattr(models, expected):
                missing.append(expected)
    assert missing == []
