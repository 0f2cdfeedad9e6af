"""Differential fuzzer of the wire-frame decoder: compiled codec vs the pure-Python reference.

Feeds random byte strings and mutations of valid frames (bit flips, truncation, extension,
overwritten header fields, forged lengths) to ``codec.decode_frame`` and checks that

* it either returns a ``Frame`` or raises ``ProtocolError`` (nothing else, no crash), and
* it accepts exactly the inputs the reference accepts, with the same type, sequence and payload
  bytes, and rejects with the same message prefix.

Run a long campaign under AddressSanitizer/UBSan (see README, "Sanitizers")::

    python -m factorio_fast._fuzz --iterations 1000000 --seed 1
"""

from __future__ import annotations

import argparse
import random
import struct
import sys
import time

import numpy as np

from factorio_fast import _reference as ref
from factorio_fast import codec
from factorio_fast.errors import ProtocolError

MAX_PAYLOAD = 1 << 16


def _seeds(rng: random.Random) -> list[bytes]:
    act = bytes(rng.getrandbits(8) for _ in range(48 * rng.randrange(0, 4)))
    obs_count, obs_bytes = rng.randrange(0, 4), rng.randrange(0, 9)
    obs = (struct.pack("<IHH", obs_count, obs_bytes, 0) + bytes(obs_count * obs_bytes)
           + bytes(4 * obs_count) + bytes(rng.randrange(0, 4) for _ in range(obs_count)))
    raw_count, raw_bytes = rng.randrange(0, 4), rng.randrange(0, 9)
    raw = (struct.pack("<BBHHHII", rng.randrange(3), 1, raw_count, raw_bytes, 0, 7, 9)
           + bytes(rng.getrandbits(8) for _ in range(raw_count * raw_bytes)))
    return [
        ref.encode_frame(ref.ACTIONS, act, rng.getrandbits(64)),
        ref.encode_frame(ref.STATE, bytes(8592), rng.getrandbits(64)),
        ref.encode_frame(ref.OBSERVATION, obs, 1),
        ref.encode_frame(ref.RESET, bytes(8 * rng.randrange(0, 5)), 2),
        ref.encode_frame(ref.ERROR, "é rror".encode()[: rng.randrange(0, 7)], 3),
        ref.encode_frame(ref.WORLD, bytes(rng.getrandbits(8) for _ in range(rng.randrange(16, 40))),
                         4),
        ref.encode_frame(ref.RAW, raw, 5),
        ref.encode_frame(ref.UDP, struct.pack("<HHHH", 40000, 40001, 0, 0), 6),
    ]


def _mutate(rng: random.Random, frame: bytes) -> bytes:
    b = bytearray(frame)
    op = rng.randrange(8)
    if op == 0 and b:                                    # flip bits
        for _ in range(rng.randrange(1, 4)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif op == 1:                                        # truncate
        del b[rng.randrange(len(b) + 1):]
    elif op == 2:                                        # extend
        b += bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 60)))
    elif op == 3 and len(b) >= 8:                        # forge the length field
        struct.pack_into("<I", b, 4, rng.choice([0, 1, 47, 48, 8591, 8592, len(b) - 16,
                                                 MAX_PAYLOAD + 1, 2**32 - 1, rng.getrandbits(32)]))
    elif op == 4 and len(b) >= 4:                        # type / version bytes
        b[rng.choice([2, 3])] = rng.randrange(256)
    elif op == 5 and len(b) >= 24:                       # observation sub-header count/size
        struct.pack_into("<I", b, 16, rng.getrandbits(rng.choice([2, 8, 32])))
    elif op == 6:                                        # random garbage
        b = bytearray(rng.getrandbits(8) for _ in range(rng.randrange(0, 64)))
    # op 7: unchanged (valid frames must keep being accepted)
    return bytes(b)


def check_one(buf: bytes) -> bool:
    """Decode ``buf`` with both implementations; raise AssertionError if they disagree.

    Returns whether the frame was accepted.
    """
    try:
        expected = ref.decode_frame(buf, MAX_PAYLOAD)
    except ProtocolError as exc:
        expected = exc
    try:
        got = codec.decode_frame(buf, max_payload=MAX_PAYLOAD)
    except ProtocolError as exc:
        if not isinstance(expected, ProtocolError):
            raise AssertionError(f"codec rejected a valid frame {buf.hex()}: {exc}") from None
        if not str(exc).startswith(str(expected)):
            raise AssertionError(f"different errors for {buf.hex()}: {exc!r} vs {expected!r}") from None
        return False
    if isinstance(expected, ProtocolError):
        raise AssertionError(f"codec accepted {buf.hex()} which the reference rejects: {expected}")
    ftype, seq, payload = expected
    if got.type != ftype or got.sequence != seq:
        raise AssertionError(f"header mismatch for {buf.hex()}")
    if ftype in (ref.ACTIONS, ref.STATE, ref.RESET):
        assert np.asarray(got.payload).tobytes() == payload, buf.hex()
    elif ftype == ref.ERROR:
        assert got.payload.encode() == payload, buf.hex()
    elif ftype in (ref.WORLD, ref.RAW, ref.UDP):
        assert got.payload == payload, buf.hex()
    else:
        count = struct.unpack_from("<I", payload)[0]
        assert got.payload.obs.shape[0] == count
    return True


def run(iterations: int, seed: int = 0, progress: bool = False) -> dict:
    """Run ``iterations`` differential checks; return counts of accepted and rejected inputs."""
    rng = random.Random(seed)
    accepted = rejected = 0
    seeds = _seeds(rng)
    t0 = time.monotonic()
    for i in range(iterations):
        if i % 1000 == 0:
            seeds = _seeds(rng)
        buf = _mutate(rng, rng.choice(seeds))
        if check_one(buf):
            accepted += 1
        else:
            rejected += 1
        if progress and i and i % 100_000 == 0:
            print(f"{i} frames, {time.monotonic() - t0:.1f} s", file=sys.stderr)
    return {"iterations": iterations, "accepted": accepted, "rejected": rejected}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Differential fuzzer of the frame decoder.")
    p.add_argument("--iterations", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    print(run(args.iterations, args.seed, progress=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
