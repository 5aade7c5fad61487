"""``chaingrad.Generator``: a seedable random number generator for samplers and splits.

It is a Mersenne Twister (MT19937) seeded the way PyTorch's CPU generator is, and the samplers
draw from it with PyTorch's documented algorithms (Fisher-Yates ``randperm``, ``randint`` by
modulo), so a loader shuffled with ``Generator().manual_seed(s)`` visits the same indices in
the same order as PyTorch's with ``torch.Generator().manual_seed(s)``.
"""

from __future__ import annotations

from typing import Any, List

import numpy as np

import chaingrad

__all__ = ["Generator", "randint_list", "random64", "randperm_list", "seed_from_global"]

_DEFAULT_SEED = 67280421310721  # PyTorch's default seed for a new generator


class Generator:
    """A random number generator owning its own state (PyTorch's ``torch.Generator``).

    Example::

        >>> g = chaingrad.Generator().manual_seed(0)
        >>> loader = DataLoader(dataset, shuffle=True, generator=g)
    """

    def __init__(self, device: Any = "cpu") -> None:
        if str(device) != "cpu":
            raise RuntimeError(f"chaingrad has no generator for device {device}")
        self.device = "cpu"
        self._bits = np.random.MT19937()
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed: int) -> Generator:
        """Reseed (only the low 32 bits drive the Mersenne Twister, as in PyTorch); returns self."""
        seed = int(seed)
        if not -(2**63) <= seed < 2**64:
            raise RuntimeError(f"Overflow when unpacking long long: {seed}")
        seed %= 2**64
        self._seed = seed
        self._bits._legacy_seeding(seed & 0xFFFFFFFF)
        return self

    def initial_seed(self) -> int:
        """The seed this generator was last seeded with."""
        return self._seed

    def seed(self) -> int:
        """Reseed from a non-deterministic source and return the new seed."""
        new_seed = int(np.random.SeedSequence().generate_state(1, np.uint64)[0]) % 2**63
        self.manual_seed(new_seed)
        return new_seed

    def get_state(self) -> chaingrad.Tensor:
        """The generator's state as a 1-d int64 tensor (pass it to :meth:`set_state`)."""
        st = self._bits.state["state"]
        values = [int(v) for v in st["key"]] + [int(st["pos"]), self._seed % 2**63]
        return chaingrad.tensor(values, dtype=chaingrad.int64)

    def set_state(self, new_state: chaingrad.Tensor) -> Generator:
        """Restore a state from :meth:`get_state`; returns self."""
        values = [int(v) for v in new_state.tolist()]
        if len(values) != 626:
            raise RuntimeError("Invalid state: expected a tensor returned by Generator.get_state()")
        key = np.array(values[:624], dtype=np.uint32)
        self._bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": values[624]}}
        self._seed = values[625]
        return self

    def _next32(self, count: int) -> List[int]:
        return [int(v) for v in self._bits.random_raw(count)] if count > 0 else []

    def __repr__(self) -> str:
        return f"<chaingrad.Generator object at {hex(id(self))}>"


def random64(generator: Generator) -> int:
    """One 63-bit draw (what ``empty((), dtype=int64).random_(generator=g)`` takes in PyTorch)."""
    hi, lo = generator._next32(2)
    return ((hi << 32) | lo) % 2**63


def randperm_list(n: int, generator: Generator) -> List[int]:
    """A random permutation of ``range(n)`` (Fisher-Yates, one 32-bit draw per swap)."""
    out = list(range(n))
    draws = generator._next32(n - 1)
    for i, r in enumerate(draws):
        j = i + r % (n - i)
        out[i], out[j] = out[j], out[i]
    return out


def randint_list(high: int, size: int, generator: Generator) -> List[int]:
    """``size`` integers uniform in ``[0, high)``."""
    return [r % high for r in generator._next32(size)]


def seed_from_global() -> int:
    """A seed drawn from chaingrad's global generator, so ``chaingrad.manual_seed`` makes
    generator-less shuffles and splits repeatable."""
    return int(chaingrad.randint(0, 2**62, ()).item())
