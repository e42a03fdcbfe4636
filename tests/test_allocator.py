"""recgym.allocator: glibc's mmap threshold pinned, checked on each block's own header (glibc marks a chunk it
served with mmap by the IS_MMAPPED bit, 0x2, of the size word just before the pointer), which no other thread's
allocations can disturb."""

import ctypes
import ctypes.util
import subprocess
import sys

import pytest

from recgym.agents import GRPOConfig
from recgym.allocator import pin_mmap_threshold

GLIBC = hasattr(ctypes.CDLL(ctypes.util.find_library("c")), "gnu_get_libc_version")


def _is_mmapped(pointer: int) -> bool:
    return bool(ctypes.c_size_t.from_address(pointer - ctypes.sizeof(ctypes.c_size_t)).value & 0x2)


@pytest.mark.skipif(not GLIBC, reason="needs glibc")
def test_pinned_threshold_serves_a_freed_then_reallocated_block_with_mmap():
    """glibc raises its threshold when an mmapped block is freed; pinned, a 1 MiB block stays an mmap each time."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    assert pin_mmap_threshold(128)
    for _ in range(3):  # unpinned, the 2nd and 3rd 1 MiB blocks would come from the heap
        block = libc.malloc(2**20)
        assert _is_mmapped(block)
        libc.free(block)


def test_bad_thresholds_are_refused():
    with pytest.raises(ValueError, match="KiB"):
        pin_mmap_threshold(0)
    with pytest.raises(ValueError, match="KiB"):
        pin_mmap_threshold(64 * 1024)
    with pytest.raises(ValueError, match="mmap_threshold_kib"):
        GRPOConfig(mmap_threshold_kib=0)
    assert GRPOConfig(mmap_threshold_kib=None).mmap_threshold_kib is None


_TRAINER_PINS = """
import ctypes, ctypes.util, gymnasium as gym, recgym
from recgym.agents import GRPOConfig, make_agent
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype, libc.malloc.argtypes, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_size_t], [ctypes.c_void_p]
venv = gym.make_vec("RecR1/Shop-BM25-v0", num_envs=4, split="train", reward="expand")
make_agent("grpo", venv, config=GRPOConfig(num_generations=4, mmap_threshold_kib=THRESHOLD), model="tiny")
served = []
for _ in range(3):
    block = libc.malloc(2**20)
    served.append(ctypes.c_size_t.from_address(block - ctypes.sizeof(ctypes.c_size_t)).value & 2 and 1)
    libc.free(block)
print(served)
"""


@pytest.mark.skipif(not GLIBC, reason="needs glibc")
@pytest.mark.parametrize("threshold, mmapped", [("128", [1, 1, 1]), ("None", [0, 0])])
def test_trainer_applies_its_threshold_only_when_set(threshold, mmapped):
    """In a fresh process: a trainer built with mmap_threshold_kib=128 pins it; with None glibc adapts as usual
    (by then its threshold has risen past 1 MiB, or does after the first block: the last two come from the heap)."""
    script = _TRAINER_PINS.replace("THRESHOLD", threshold)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True)
    served = eval(out.stdout.strip().splitlines()[-1])  # noqa: S307 (a list of ints this test's script printed)
    assert served[-len(mmapped):] == mmapped
