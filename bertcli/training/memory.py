"""CPU memory: glibc's allocator tuned for training on batches of ever-changing shapes."""

from __future__ import annotations

import time


class HeapTrimmer:
    """Hands freed memory back to the OS on the CPU with glibc.

    Batches padded to their own length make tensors of ever-changing sizes; glibc's allocator keeps the freed
    ones in a fragmented heap, and over a long run the peak resident memory creeps far above what is live.
    Two remedies: blocks of 4 MB and more (a batch's hidden states and attention) get their own memory maps,
    returned to the OS when freed, instead of glibc's adaptive threshold that moves them into the heap (the
    2,000-question SQuAD job: peak 4.66 -> 4.30 GB, same training speed; classification about 7% slower for 8%
    less memory); and `malloc_trim(0)` after an optimizer step, at most once a second, for the rest.
    """

    MMAP_THRESHOLD = 4 << 20
    M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h

    def __init__(self, enabled: bool, interval_s: float = 1.0):
        self.libc = _glibc() if enabled else None
        if self.libc is not None:
            self.libc.mallopt(self.M_MMAP_THRESHOLD, self.MMAP_THRESHOLD)
        self.interval_s, self.last = interval_s, time.perf_counter()

    def trim(self) -> None:
        if self.libc is not None and time.perf_counter() - self.last >= self.interval_s:
            self.libc.malloc_trim(0)
            self.last = time.perf_counter()


def _glibc():
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018 -- glibc only (not musl, not macOS)
    except (OSError, AttributeError):
        return None
    return libc
