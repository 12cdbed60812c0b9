"""Regenerate `clerk_async/models`, `clerk_async/resources` and `docs/reference` from the spec.

python -m tools.generate          # write the files
python -m tools.generate --check  # exit 1 if the committed files differ from a fresh run
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import yaml

from . import _emit, _migration, _reference, _webhooks
from ._format import formatted
from ._operations import load_operations

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "spec" / "bapi-2026-05-12.yml"
TABLE = ROOT / "spec" / "operations.tsv"
NAMES = ROOT / "spec" / "model-names.tsv"
PACKAGE = ROOT / "clerk_async"
MIGRATION = ROOT / "docs" / "migration.md"
MKDOCS = ROOT / "mkdocs.yml"
# Hand-written files inside the generated packages.
KEEP = {"_base.py"}


def render() -> dict[Path, str]:
    """Every generated file and its content."""
    spec = yaml.safe_load(SPEC.read_text())
    ops, registry = load_operations(spec, TABLE, NAMES)
    modules = _emit.assign_modules(ops, registry)
    files: dict[Path, str] = {}

    by_module = defaultdict(list)
    for name, struct in registry.structs.items():
        by_module[modules[name]].append(struct)
    for module, structs in by_module.items():
        files[PACKAGE / "models" / f"{module}.py"] = _emit.model_module(module, structs, modules)
    files[PACKAGE / "models" / "__init__.py"] = _emit.models_index(modules)

    by_resource = defaultdict(list)
    for op in ops:
        by_resource[op.resource].append(op)
    for resource, resource_ops in by_resource.items():
        files[PACKAGE / "resources" / f"{resource}.py"] = _emit.resource_module(
            resource, resource_ops, modules
        )
    files[PACKAGE / "resources" / "__init__.py"] = _emit.resources_index(list(by_resource))
    files = {path: formatted(path, text) for path, text in files.items()}
    files[_webhooks.TARGET] = _webhooks.render()
    files.update(_reference.pages(ROOT, list(by_resource), list(by_module)))
    files[MKDOCS] = _reference.nav(MKDOCS.read_text(), list(by_resource), list(by_module))
    files[MIGRATION] = _migration.page(MIGRATION.read_text(), ops)
    return files


def stale(files: dict[Path, str]) -> list[Path]:
    """Generated files that differ from disk, and files on disk no generator run would write."""
    changed = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
    for folder in ("models", "resources"):
        for path in (PACKAGE / folder).glob("*.py"):
            if path not in files and path.name not in KEEP:
                changed.append(path)
    for folder in ("resources", "models"):
        for path in (ROOT / "docs" / "reference" / folder).glob("*.md"):
            if path not in files:
                changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.generate", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    files = render()
    changed = stale(files)
    if args.check:
        for path in changed:
            print(f"stale: {path.relative_to(ROOT)}")
        return 1 if changed else 0
    for path in changed:
        if path in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[path])
        else:
            path.unlink()
    print(f"{len(files)} files generated, {len(changed)} changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
