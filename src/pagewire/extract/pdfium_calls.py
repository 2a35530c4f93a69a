"""pdfium's C functions that run per word or per page object, as cheap ctypes calls.

pypdfium2 declares every function's argument types, so ctypes runs ``from_param`` on
every argument of every call, which costs more than most of these calls do inside
pdfium (0.48 against 0.22 us a call, measured). Declared here without argument types,
ints go as C ints and pointer objects as they are. So callers pass exactly those: a
:class:`Handle` (or ``c_void_p``) for a pdfium object, an int for an index, ``byref``
for an out-parameter, a ``c_ulong`` for a buffer size. Functions that return an object
return a :class:`Handle`, which goes back into the next call as it is.
"""

from __future__ import annotations

import ctypes
from typing import Any

import pypdfium2.raw as raw


class Handle(ctypes.c_void_p):
    """A pdfium object: ``.value`` is its address. (A subclass, so that ctypes hands
    results back as this object rather than converting them to a bare int, which
    would then go into the next call as a 32-bit C int.)"""


def _bare(function: Any, restype: Any) -> Any:
    # A prototype with no parameters: ctypes passes every argument as given.
    address = ctypes.cast(function, ctypes.c_void_p).value
    assert address is not None
    return ctypes.CFUNCTYPE(restype)(address)


def handle(obj: Any) -> Handle:
    """A pypdfium2 raw pointer (``page.raw``, ``textpage.raw``) as a :class:`Handle`."""
    return Handle(ctypes.cast(obj, ctypes.c_void_p).value)


# Text page, per word: (text page, char index, ...)
TEXT_OBJECT_ADDRESS = _bare(raw.FPDFText_GetTextObject, ctypes.c_void_p)  # -> int | None
LOOSE_CHAR_BOX = _bare(raw.FPDFText_GetLooseCharBox, ctypes.c_int)  # (..., byref(FS_RECTF))
# Text page, per text object
FONT_SIZE = _bare(raw.FPDFText_GetFontSize, ctypes.c_double)
CHAR_MATRIX = _bare(raw.FPDFText_GetMatrix, ctypes.c_int)  # (..., byref(FS_MATRIX))
FONT_INFO = _bare(raw.FPDFText_GetFontInfo, ctypes.c_ulong)  # (..., buf, c_ulong, byref(c_int))
FONT_WEIGHT = _bare(raw.FPDFText_GetFontWeight, ctypes.c_int)
# Page objects: (page, index), (object), (object, byref(c_float) x 4), (form, index)
PAGE_OBJECT_COUNT = _bare(raw.FPDFPage_CountObjects, ctypes.c_int)
PAGE_OBJECT = _bare(raw.FPDFPage_GetObject, Handle)
OBJECT_TYPE = _bare(raw.FPDFPageObj_GetType, ctypes.c_int)
OBJECT_BOUNDS = _bare(raw.FPDFPageObj_GetBounds, ctypes.c_int)
FORM_OBJECT_COUNT = _bare(raw.FPDFFormObj_CountObjects, ctypes.c_int)
FORM_OBJECT = _bare(raw.FPDFFormObj_GetObject, Handle)  # (form, c_ulong index)
