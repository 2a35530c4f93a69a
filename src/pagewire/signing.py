"""``from pagewire.signing import verify``: the public path to webhook signing.

The code lives in :mod:`pagewire.kernel.signing` (standard library only, shared
with the SDK); this module keeps the import path the docs have always given.
"""

from pagewire.kernel.signing import *  # noqa: F403
from pagewire.kernel.signing import __all__ as __all__
