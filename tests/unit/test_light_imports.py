"""The API loads no extraction engine: they belong to the worker's extractor child.

Each engine's libraries (pypdfium2, Pillow, python-docx, openpyxl, python-pptx)
cost every API process memory and start-up time for nothing: the API only
sniffs an upload's first bytes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pagewire.extract import SUPPORTED_MEDIA_TYPES, load_engines

ENGINE_LIBRARIES = ("pypdfium2", "PIL", "docx", "openpyxl", "pptx")


def test_creating_the_app_loads_no_extraction_engine(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from pagewire.app import create_app\n"
        "from pagewire.settings import Settings\n"
        f"create_app(Settings(data_dir={str(tmp_path)!r}))\n"
        f"print(','.join(m for m in {ENGINE_LIBRARIES!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"the API loaded {result.stdout.strip()}"


def test_every_supported_media_type_has_an_engine_that_opens_it() -> None:
    assert [t for engine in load_engines() for t in engine.media_types] == list(
        SUPPORTED_MEDIA_TYPES
    )
