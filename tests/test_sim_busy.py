"""close() while another thread runs a GIL-free call on the same object.

BatchSim.reset / BatchSim.step and World.tick run their C code with the GIL released, so another
thread can call close() meanwhile. close() must then raise BusyError and free nothing (freeing
would pull the memory from under the running call); once the call has returned the object
works as before and closes cleanly.

To make the overlap certain rather than likely, the switch interval is raised for the test: the
worker thread then keeps the GIL from the moment it signals until its call enters the nogil
region, so the main thread's close() runs while the C code does. Should close() still come
first (it finds nothing running, frees, and the worker's call fails with ClosedError), the
attempt is repeated on a new object; the test fails if no attempt sees the overlap.
"""

import sys
import threading

import numpy as np
import pytest

from factorio_fast._sim import BatchSim, World
from factorio_fast.errors import BusyError, ClosedError

ATTEMPTS = 5


def close_during(make, run):
    """Run run(obj) in a thread and close obj from this one while it runs. Returns obj (still
    open) after the thread has finished, with the close() error."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(5.0)
    try:
        for _ in range(ATTEMPTS):
            obj = make()
            started = threading.Event()
            errors = []

            def target(obj=obj, started=started, errors=errors):
                started.set()
                try:
                    run(obj)
                except ClosedError as e:   # close() came first: the call never started
                    errors.append(e)

            t = threading.Thread(target=target)
            t.start()
            started.wait()
            try:
                obj.close()
            except BusyError as e:
                t.join()
                assert not errors
                return obj, e
            t.join()
            # close() succeeded: only legitimate if the worker's call had not started yet
            assert errors, "close() freed the object while a call was running on it"
    finally:
        sys.setswitchinterval(old)
    pytest.fail(f"close() never overlapped the call in {ATTEMPTS} attempts")


def walking_world():
    w = World(32, 32)
    w.set_walking(2)                 # east, into the map edge: each tick runs the full walk
    return w


def test_world_close_during_tick_raises_busy_and_frees_nothing():
    ticks = 2_000_000
    w, err = close_during(walking_world, lambda w: w.tick(ticks))
    assert isinstance(err, BufferError) and "in use" in str(err)
    ref = walking_world()
    ref.tick(ticks)
    assert w.tick_count == ticks and w.position == ref.position    # the tick ran to its end
    w.tick(3)                                                       # and the world still works
    ref.tick(3)
    assert w.position == ref.position and w.tick_count == ticks + 3
    w.close()
    w.close()                                                       # idempotent
    with pytest.raises(ClosedError):
        w.tick(1)


def test_batchsim_close_during_a_world_view_tick_raises_busy():
    def make():
        sim = BatchSim("movement_micro", 2, obstacles=0)
        sim.reset(np.array([1, 2], np.uint64), obs=np.zeros((2, 64), np.uint8))
        sim.world(1).set_walking(6)  # west, into the map edge
        return sim

    sim, _ = close_during(make, lambda s: s.world(1).tick(2_000_000))
    view = sim.world(1)
    # the tick ran to its end: the centre stopped on the west edge (the edge blocks by centre point)
    assert view.tick_count == 2_000_000 and view.position[0] == 0
    obs = np.zeros((2, 64), np.uint8)
    sim.reset(np.array([1, 2], np.uint64), obs=obs)                     # still usable
    sim.close()
    with pytest.raises(ClosedError):
        view.tick(1)


def test_world_view_close_during_its_tick_raises_busy():
    sim = BatchSim("movement_micro", 1, obstacles=0)
    sim.reset(np.array([5], np.uint64), obs=np.zeros((1, 64), np.uint8))
    start = int(sim.ticks()[0])

    def make():
        v = sim.world(0)
        v.set_walking(4)                  # south, into the map edge
        return v

    view, _ = close_during(make, lambda v: v.tick(2_000_000))
    assert view.tick_count == start + 2_000_000 and view.position[1] == 32 * 256 - 1
    view.close()                          # a view's close drops its reference only
    with pytest.raises(ClosedError):
        view.tick(1)
    assert sim.ticks()[0] == start + 2_000_000
    sim.close()


def buffers(sim):
    n = sim.num_envs
    return dict(obs=np.zeros((n,) + sim.obs_shape, np.uint8), rewards=np.zeros(n, np.float32),
                terminated=np.zeros(n, bool), truncated=np.zeros(n, bool))


N = 1024
SEEDS = np.arange(N, dtype=np.uint64) + 77


def building_sim():
    sim = BatchSim("building_micro", N, ticks_per_step=600)
    sim.reset(SEEDS, obs=buffers(sim)["obs"])
    return sim


def actions(k):
    rng = np.random.default_rng(k)
    return rng.integers(0, [20, 9, 9], (N, 3)).astype(np.int64)


def test_batchsim_close_during_step_raises_busy_and_the_step_completes():
    b0 = dict(obs=np.zeros((N, 512), np.uint8), rewards=np.zeros(N, np.float32),
              terminated=np.zeros(N, bool), truncated=np.zeros(N, bool))
    a0 = actions(0)                       # made here: the worker thread only steps

    sim, err = close_during(building_sim, lambda sim: sim.step(a0, **b0))
    assert isinstance(err, BufferError)
    ref = building_sim()
    rb = buffers(ref)
    ref.step(actions(0), **rb)
    for k in rb:                          # the interrupted-by-nothing step gave the same result
        assert np.array_equal(b0[k], rb[k]), k
    b = buffers(sim)
    sim.step(actions(1), **b)             # and the batch goes on exactly like the reference
    ref.step(actions(1), **rb)
    for k in rb:
        assert np.array_equal(b[k], rb[k]), k
    assert np.array_equal(sim.ticks(), ref.ticks())
    sim.close()
    with pytest.raises(ClosedError):
        sim.step(actions(2), **b)


def test_batchsim_close_during_reset_raises_busy():
    o = np.zeros((N, 512), np.uint8)
    seeds = SEEDS + 1
    sim, _ = close_during(building_sim, lambda sim: sim.reset(seeds, obs=o))
    ref = BatchSim("building_micro", N, ticks_per_step=600)
    ro = np.zeros((N, 512), np.uint8)
    ref.reset(SEEDS + 1, obs=ro)
    assert np.array_equal(o, ro)
    assert np.array_equal(sim.positions(), ref.positions())
    sim.close()
    ref.close()
