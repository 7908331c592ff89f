"""A Python port of seedrandom 3.0.5's default generator (ARC4, ``seedrandom(stringSeed)``).

polyglot-instruct samples and shuffles ids with ``seedrandom(seed + ":" + purpose)``; the Python peers of the
benchmark must draw the very same numbers to produce the same compositions. Only string seeds are supported
(``seedrandom(42)`` with a number flattens to ``"42\\0"`` and would need that suffix).

    rng = SeedRandom("42:sample")
    rng()  # same double as require("seedrandom")("42:sample")()

``shuffle_ids(ids, seed, purpose)`` is the project's documented shuffle: sort ascending (JS default order =
UTF-16 code units; plain ``sorted`` agrees for the ASCII ids of Bactrian-X), then Fisher-Yates from the end.
"""

from __future__ import annotations

WIDTH = 256
CHUNKS = 6
MASK = WIDTH - 1
START_DENOM = float(WIDTH**CHUNKS)
SIGNIFICANCE = 2**52
OVERFLOW = 2**53


def _mix_key(seed: str) -> list[int]:
    """seedrandom's ``mixkey``: folds the seed's UTF-16 code units into a key of at most 256 bytes."""
    key: dict[int, int] = {}
    smear = 0
    code_units = seed.encode("utf-16-le")
    for j in range(len(code_units) // 2):
        code = code_units[2 * j] | (code_units[2 * j + 1] << 8)
        # JS: smear ^= key[j & mask] * 19, where an unset slot is undefined -> NaN -> 0 in the XOR
        smear ^= key.get(j & MASK, 0) * 19
        key[j & MASK] = MASK & (smear + code)
    return [key[index] for index in range(len(key))]


class SeedRandom:
    """Callable returning doubles in [0, 1), bit-identical to seedrandom's ARC4 ``prng()``."""

    def __init__(self, seed: str) -> None:
        if not isinstance(seed, str):
            raise TypeError("SeedRandom takes a string seed, as polyglot-instruct passes to seedrandom")
        key = _mix_key(seed) or [0]
        s = list(range(WIDTH))
        j = 0
        for i in range(WIDTH):
            t = s[i]
            j = MASK & (j + key[i % len(key)] + t)
            s[i] = s[j]
            s[j] = t
        self._s = s
        self._i = 0
        self._j = 0
        self._next_bytes(WIDTH)  # RC4-drop[256], as seedrandom does

    def _next_bytes(self, count: int) -> int:
        s, i, j, r = self._s, self._i, self._j, 0
        for _ in range(count):
            i = MASK & (i + 1)
            t = s[i]
            j = MASK & (j + t)
            s[i] = s[j]
            s[j] = t
            r = r * WIDTH + s[MASK & (s[i] + t)]
        self._i, self._j = i, j
        return r

    def __call__(self) -> float:
        n = self._next_bytes(CHUNKS)
        d = START_DENOM
        x = 0
        while n < SIGNIFICANCE:
            n = (n + x) * WIDTH
            d *= WIDTH
            x = self._next_bytes(1)
        # n is an exact integer below 2^61 here, so integer halving matches JS's float halving
        while n >= OVERFLOW:
            n //= 2
            d /= 2
            x >>= 1
        return (n + x) / d


def shuffle_ids(ids, seed: int | str, purpose: str) -> list[str]:
    """Sort ``ids`` ascending, then Fisher-Yates with ``SeedRandom(f"{seed}:{purpose}")``."""
    order = sorted(ids)
    rng = SeedRandom(f"{seed}:{purpose}")
    for i in range(len(order) - 1, 0, -1):
        j = int(rng() * (i + 1))
        order[i], order[j] = order[j], order[i]
    return order


if __name__ == "__main__":
    import json
    import sys

    # Prints what bench/peers/check_seedrandom.mjs compares against Node's seedrandom.
    seeds = sys.argv[1:] or ["42:sample", "7:assign:DEFRITES", "", "ü:é"]
    draws = {}
    for seed in seeds:
        rng = SeedRandom(seed)
        draws[seed] = [rng() for _ in range(5)]
    print(json.dumps(draws))
