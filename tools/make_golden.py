"""Regenerate tests/data/golden_cells.json and golden_frames.json from factorio_fast._reference.

The golden files are committed; the C codec, the Python reference and the Lua mod are all tested
against them. Only regenerate when the specification changes (and say why in the commit).
"""

import json
import pathlib
import random
import struct

from factorio_fast import _reference as ref

OUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data"


def cells():
    rng = random.Random(20261125)
    rows = []
    edge = [(0, 0, 0, False), (15, 4095, 15, True), (15, 4096, 15, True), (1, 4097, 0, False),
            (11, 0, 0, True), (0, 1, 0, False), (3, 5000, 2, True), (8, 65535, 9, False),
            (0, 10**9, 1, False)]
    for t, a, e, b in edge:
        rows.append([t, a, e, b, ref.encode_cell(t, a, e, b)])
    for _ in range(200):
        t, e = rng.randrange(16), rng.randrange(16)
        a = rng.choice([rng.randrange(4096), rng.randrange(100000)])
        b = rng.random() < 0.3
        rows.append([t, a, e, b, ref.encode_cell(t, a, e, b)])
    return {"fields": ["tile", "amount", "entity", "blocked", "cell"], "rows": rows,
            "planes": [[c[4], ref.unpack_planes_cell(c[4])] for c in rows[:40]]}


def frames():
    out = []
    act = bytearray(48 * 2)
    struct.pack_into("<B3x8f4xQ", act, 0, 3, 1.0, -2.5, 0, 0, 0, 0, 0, 0.25, 7)
    struct.pack_into("<B3x8f4xQ", act, 48, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2**63)
    out.append(["actions", ref.encode_frame(ref.ACTIONS, bytes(act), 12345).hex()])
    out.append(["actions_empty", ref.encode_frame(ref.ACTIONS, b"", 0).hex()])
    state = bytearray(8592)
    struct.pack_into("<2f", state, 0, 12.5, -3.25)
    state[8 + 5] = 9
    struct.pack_into("<Q", state, 8584, 600)
    out.append(["state", ref.encode_frame(ref.STATE, bytes(state), 2**64 - 1).hex()])
    obs = (struct.pack("<IHH", 2, 3, 1) + bytes([1, 2, 3, 4, 5, 6])
           + struct.pack("<2f", 1.0, -0.5) + bytes([1, 2]))
    out.append(["observation", ref.encode_frame(ref.OBSERVATION, obs, 9).hex()])
    out.append(["reset", ref.encode_frame(ref.RESET, struct.pack("<2Q", 0, 41), 1).hex()])
    out.append(["error", ref.encode_frame(ref.ERROR, "bad action: 9 ∉ 0..8".encode(), 3).hex()])
    return {"frames": out}


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "golden_cells.json").write_text(json.dumps(cells(), indent=0) + "\n")
    (OUT / "golden_frames.json").write_text(json.dumps(frames(), indent=1) + "\n")
    print("wrote", OUT)
