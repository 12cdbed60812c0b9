"""Fixtures of the testing kit's own tests."""

from __future__ import annotations

from typing import Any

import pytest

from ._spec import load_spec


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    return load_spec()
