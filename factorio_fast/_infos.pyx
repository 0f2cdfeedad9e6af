# cython: language_level=3
"""The state infos of a batch of envs in one compiled pass (csrc/ff_infos.c).

``factorio_fast.vector`` reports positions, ticks and inventories in ``info``. The simulator's
own readers (``BatchSim.positions()``, ``ticks()``, ``inventories()``) each walk every env's
world and return a new array; this module walks the worlds once and writes straight into the
vector env's buffers (positions already in tiles). It also reads each env's random stream, so a
``reset(seed=None)`` can start an env's next episode from its stream, as an autoreset does.

It reads the simulator handle out of a :class:`factorio_fast._sim.BatchSim` object, cimported
from ``_sim.pxd``; a stepper of another type is refused (``False``) and the caller uses the
stepper's public readers instead.
"""

import numpy as np

from factorio_fast.errors import ClosedError, InvalidArgumentError

__all__ = ["supported", "state", "streams", "episode", "SameStepBatch"]

from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t

from factorio_fast._ffcore cimport FF_ERANGE, check
from factorio_fast._ffsim cimport FF_AUTORESET_SAME_STEP, ff_sim_info, ff_sim_step, ff_sim_t
from factorio_fast._sim cimport BatchSim

cdef extern from "ff_features.h" nogil:
    ctypedef struct ff_feat_table_t:
        pass
    int ff_features_lookup(const char *scenario, const ff_feat_table_t **out) noexcept
    uint32_t ff_features_width(const ff_feat_table_t *t) noexcept
    int ff_features_fill(const ff_feat_table_t *t, const uint8_t *obs, size_t n, size_t obs_stride,
                         float *out, size_t out_stride, const uint8_t *mask) noexcept

cdef extern from "ff_infos.h" nogil:
    size_t ff_infos_num_envs(const ff_sim_t *sim)
    int ff_infos_state(const ff_sim_t *sim, size_t lo, size_t hi, double *pos, uint64_t *ticks,
                       uint16_t *inv, size_t n_items)
    int ff_infos_streams(const ff_sim_t *sim, uint64_t *out)
    int ff_infos_episode(size_t n, const float *rewards, const uint8_t *terminated,
                         const uint8_t *truncated, double *ret, int64_t *len, double *t0,
                         uint8_t *done_before, double now, int next_step, double *out_r,
                         int64_t *out_l, double *out_t, uint8_t *out_done, size_t *n_done)

cdef ff_sim_t *_handle(object stepper, bint *ok) except? NULL:
    """The stepper's simulator handle; ``ok[0] = False`` (and NULL) when it is no BatchSim.
    A closed BatchSim raises ClosedError."""
    ok[0] = False
    if type(stepper) is not BatchSim:
        return NULL
    cdef ff_sim_t *sim = (<BatchSim>stepper)._live()
    ok[0] = True
    return sim


def supported(stepper):
    """True when ``stepper`` is a live BatchSim this module can read."""
    cdef bint ok = False
    try:
        _handle(stepper, &ok)
    except ClosedError:
        return False
    return bool(ok)


def state(stepper, positions=None, ticks=None, inventories=None):
    """Write every env's state into the given arrays, in one pass over the worlds:
    ``positions`` float64 ``(n, 2)`` in tiles, ``ticks`` uint64 ``(n,)``, ``inventories``
    uint16 ``(n, k)`` (item ids ``0..k-1``); ``None`` skips one. ``n`` is the stepper's
    ``num_envs``. Returns False (writing nothing) if ``stepper`` is not a BatchSim."""
    cdef bint ok = False
    cdef ff_sim_t *sim = _handle(stepper, &ok)
    if not ok:
        return False
    cdef size_t n = ff_infos_num_envs(sim)
    cdef double[:, ::1] pv
    cdef uint64_t[::1] tv
    cdef uint16_t[:, ::1] iv
    cdef double *pp = NULL
    cdef uint64_t *tp = NULL
    cdef uint16_t *ip = NULL
    cdef size_t k = 0
    if positions is not None:
        pv = positions
        if pv.shape[0] != <Py_ssize_t>n or pv.shape[1] != 2:
            raise InvalidArgumentError(f"positions must have shape ({n}, 2)")
        pp = &pv[0, 0] if n else NULL
    if ticks is not None:
        tv = ticks
        if tv.shape[0] != <Py_ssize_t>n:
            raise InvalidArgumentError(f"ticks must have shape ({n},)")
        tp = &tv[0] if n else NULL
    if inventories is not None:
        iv = inventories
        if iv.shape[0] != <Py_ssize_t>n:
            raise InvalidArgumentError(f"inventories must have {n} rows")
        k = iv.shape[1]
        ip = &iv[0, 0] if n and k else NULL
    if n:
        check(ff_infos_state(sim, 0, n, pp, tp, ip, k), "infos.state")
    return True


def streams(stepper):
    """Each env's random stream state (uint64 ``(n,)``): resetting env i with seed
    ``streams[i]`` starts the episode its next autoreset would. None if ``stepper`` is not a
    BatchSim."""
    cdef bint ok = False
    cdef ff_sim_t *sim = _handle(stepper, &ok)
    if not ok:
        return None
    out = np.empty(ff_infos_num_envs(sim), np.uint64)
    cdef uint64_t[::1] ov = out
    if ov.shape[0]:
        check(ff_infos_streams(sim, &ov[0]), "infos.streams")
    return out


def episode(const float[::1] rewards, const uint8_t[::1] terminated, const uint8_t[::1] truncated,
            double[::1] ret, int64_t[::1] length, double[::1] t0, uint8_t[::1] done_before,
            double now, bint next_step):
    """One step of episode statistics for every env (``FactorioVectorEnv._episode_stats``
    in one pass): updates ``ret``, ``length``, ``t0`` and ``done_before`` in place and returns
    ``None`` if no episode ended, else ``(r, l, t, done)`` (float64, int64, float64, bool
    arrays: the ended envs' return, length and seconds, 0 elsewhere)."""
    cdef Py_ssize_t n = rewards.shape[0]
    if (terminated.shape[0] != n or truncated.shape[0] != n or ret.shape[0] != n
            or length.shape[0] != n or t0.shape[0] != n or done_before.shape[0] != n):
        raise InvalidArgumentError(f"episode: every array must have {n} entries")
    r = np.empty(n, np.float64)
    lens = np.empty(n, np.int64)
    t = np.empty(n, np.float64)
    done = np.empty(n, np.bool_)
    cdef double[::1] rv = r
    cdef int64_t[::1] lv = lens
    cdef double[::1] tv = t
    cdef uint8_t[::1] dv = done
    cdef size_t ended = 0
    if n:
        check(ff_infos_episode(n, &rewards[0], &terminated[0], &truncated[0], &ret[0], &length[0],
                               &t0[0], &done_before[0], now, next_step, &rv[0], &lv[0], &tv[0],
                               &dv[0], &ended), "infos.episode")
    return (r, lens, t, done) if ended else None


cdef class SameStepBatch:
    """A same_step step of an in-process BatchSim and everything an SB3-style client needs
    from it, in one call: the simulator step, the features of the new observations, ``dones``
    and the running episodes' return and length, and the features of the final observations
    of the envs that ended. Every array is given once here (their addresses are kept, and the
    arrays with them), so a step acquires no buffer but the actions.

    The GIL is held through the step: nothing can close the BatchSim meanwhile (a step of
    the small batches this is for takes microseconds).

    Parameters: the stepper, the scenario name to decode features of (None: bytes only),
    then ``obs``/``final_obs`` (uint8 ``(n, obs_bytes)``), ``rewards`` (float32), ``terminated``,
    ``truncated``, ``final_mask``, ``dones`` (bool), ``features``/``final_features`` (float32
    ``(n, width)``, ignored without features), ``ret`` (float64), ``length`` (int64).
    """

    cdef object _stepper
    cdef object _refs
    cdef const ff_feat_table_t *_table
    cdef size_t _n
    cdef size_t _obs_bytes
    cdef size_t _width
    cdef size_t _dims
    cdef uint8_t *_obs
    cdef uint8_t *_final_obs
    cdef float *_rewards
    cdef uint8_t *_term
    cdef uint8_t *_trunc
    cdef uint8_t *_fmask
    cdef uint8_t *_dones
    cdef float *_feat
    cdef float *_final_feat
    cdef double *_ret
    cdef int64_t *_len

    def __init__(self, stepper, features, obs, final_obs, rewards, terminated, truncated,
                 final_mask, dones, feat, final_feat, ret, length):
        cdef bint ok = False
        cdef ff_sim_t *sim = _handle(stepper, &ok)
        if not ok:
            raise InvalidArgumentError("SameStepBatch needs an in-process factorio_fast._sim.BatchSim")
        info = ff_sim_info(sim)
        n = ff_infos_num_envs(sim)
        self._n, self._obs_bytes, self._dims = n, info.obs_bytes, info.action_dims
        cdef uint8_t[:, ::1] ov = obs
        cdef uint8_t[:, ::1] fov = final_obs
        cdef float[::1] rv = rewards
        cdef uint8_t[::1] tev = terminated
        cdef uint8_t[::1] trv = truncated
        cdef uint8_t[::1] fmv = final_mask
        cdef uint8_t[::1] dv = dones
        cdef double[::1] retv = ret
        cdef int64_t[::1] lenv = length
        cdef float[:, ::1] fv
        cdef float[:, ::1] ffv
        for name, v, cols in (("obs", ov, self._obs_bytes), ("final_obs", fov, self._obs_bytes)):
            if v.shape[0] != <Py_ssize_t>n or v.shape[1] != <Py_ssize_t>cols:
                raise InvalidArgumentError(f"{name} must have shape ({n}, {cols})")
        for name, v in (("rewards", rv), ("terminated", tev), ("truncated", trv),
                        ("final_mask", fmv), ("dones", dv), ("ret", retv), ("length", lenv)):
            if v.shape[0] != <Py_ssize_t>n:
                raise InvalidArgumentError(f"{name} must have shape ({n},)")
        if n == 0:
            raise InvalidArgumentError("SameStepBatch needs at least one env")
        self._table = NULL
        if features is not None:
            key = str(features).encode()
            check(ff_features_lookup(key, &self._table), "features")
            self._width = ff_features_width(self._table)
            fv = feat
            ffv = final_feat
            for name, v in (("features", fv), ("final_features", ffv)):
                if v.shape[0] != <Py_ssize_t>n or v.shape[1] != <Py_ssize_t>self._width:
                    raise InvalidArgumentError(f"{name} must have shape ({n}, {self._width})")
            self._feat, self._final_feat = &fv[0, 0], &ffv[0, 0]
        self._obs, self._final_obs = &ov[0, 0], &fov[0, 0]
        self._rewards, self._term, self._trunc = &rv[0], &tev[0], &trv[0]
        self._fmask, self._dones, self._ret, self._len = &fmv[0], &dv[0], &retv[0], &lenv[0]
        self._stepper = stepper
        # the arrays whose memory the pointers above address
        self._refs = (obs, final_obs, rewards, terminated, truncated, final_mask, dones, feat,
                      final_feat, ret, length)

    def step(self, actions):
        """Step with ``actions`` (int64, ``(n,) + action_shape``, C-contiguous); returns how
        many envs ended. An out-of-range action raises InvalidArgumentError before any env
        moves, as ``BatchSim.step`` does."""
        cdef bint ok = False
        cdef ff_sim_t *sim = _handle(self._stepper, &ok)
        if not ok:
            raise InvalidArgumentError("the stepper of this SameStepBatch changed")
        cdef const int64_t[::1] av = actions.reshape(-1)
        if <size_t>av.shape[0] != self._n * self._dims:
            raise InvalidArgumentError(f"actions must have {self._n * self._dims} entries, got "
                                       f"{av.shape[0]}")
        cdef size_t bad_env = 0
        cdef int32_t bad_dim = 0
        cdef int64_t bad_value = 0
        rc = ff_sim_step(sim, &av[0], self._obs, self._rewards, self._term, self._trunc,
                         FF_AUTORESET_SAME_STEP, self._final_obs, self._fmask, &bad_env, &bad_dim,
                         &bad_value)
        if rc == FF_ERANGE:
            self._stepper._bad_action(bad_env, bad_dim, bad_value)
        check(rc, "SameStepBatch.step")
        cdef size_t n = self._n, i, ended = 0
        if self._table != NULL:
            check(ff_features_fill(self._table, self._obs, n, self._obs_bytes, self._feat,
                                   self._width, NULL), "features")
        for i in range(n):
            self._dones[i] = self._term[i] | self._trunc[i]
            ended += self._dones[i]
            self._ret[i] += <double>self._rewards[i]
            self._len[i] += 1
        if ended and self._table != NULL:
            check(ff_features_fill(self._table, self._final_obs, n, self._obs_bytes,
                                   self._final_feat, self._width, self._fmask), "features")
        return ended
