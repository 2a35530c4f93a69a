"""The environment an extractor process starts with: the worker's, without its secrets.

A parser exploited by a hostile document runs with the extractor's environment,
so that holds only what the extractor and its helpers (tesseract) read: no
database URL, API or encryption key, bucket credential or token. The extractor
reads no ``PAGEWIRE_*`` setting; its limits come with each job's task.
"""

from __future__ import annotations

from collections.abc import Mapping

KEPT = frozenset(
    {
        "PATH",
        "HOME",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "TEMP",
        "TMP",
        "LD_LIBRARY_PATH",
        "OMP_THREAD_LIMIT",  # tesseract's threads
        "TESSDATA_PREFIX",  # tesseract's language data
    }
)
KEPT_PREFIXES = ("LC_", "PYTHON")


def extractor_environment(environ: Mapping[str, str]) -> dict[str, str]:
    return {
        name: value
        for name, value in environ.items()
        if name in KEPT or name.startswith(KEPT_PREFIXES)
    }
