"""Fixtures for the extraction engine: the generated ground truth and its extraction."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import groundtruth
from extract_helpers import extract


@pytest.fixture(scope="session")
def truth_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("truth") / "ground-truth.pdf"
    groundtruth.build(path)
    return path


@pytest.fixture(scope="session")
def truth() -> groundtruth.Truth:
    return groundtruth.TRUTH


@pytest.fixture(scope="session")
def truth_result(truth_pdf: Path) -> dict[str, Any]:
    """Text-layer pages only (1-3), so these tests run without tesseract."""
    return extract(
        truth_pdf,
        pages=(1, 2, 3),
        chunking=("page", "header", "recursive"),
        chunk_size=300,
        return_html=True,
    )
