"""Load the cause catalogue shipped in the ``signatures`` package."""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml


def load_causes() -> dict[str, dict[str, Any]]:
    """Return cause id → {dimension, title} from ``signatures/causes.yaml``."""
    text = resources.files("signatures").joinpath("causes.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    causes: dict[str, dict[str, Any]] = data["causes"]
    return causes
