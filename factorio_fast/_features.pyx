# cython: language_level=3
"""Observation bytes -> float32 features, in C (csrc/ff_features.c); see factorio_fast.features.

A :class:`Decoder` holds one scenario's field table; ``fill`` converts a batch of observation
rows without the GIL. The readable specification is ``factorio_fast/_reference_features.py``.
"""

import numpy as np

from factorio_fast.errors import InvalidArgumentError

from libc.stdint cimport uint8_t, uint16_t, uint32_t

from factorio_fast._ffcore cimport check


cdef extern from "ff_features.h" nogil:
    enum:
        FF_FEAT_U8
        FF_FEAT_I8
        FF_FEAT_U16
        FF_FEAT_I16
        FF_FEAT_BITS
        FF_FEAT_ONEHOT
        FF_FEAT_CELL
        FF_FEAT_I16_CLIP
        FF_FEAT_PLAN_TILE
        FF_FEAT_PLAN_BITS
        FF_FEAT_CELL_WIDTH
    ctypedef struct ff_feat_field_t:
        const char *name
        uint16_t offset
        uint8_t kind
        uint16_t n
        uint16_t count
        uint16_t stride
        float scale
    ctypedef struct ff_feat_table_t:
        const char *scenario
        uint32_t obs_bytes
        uint32_t num_fields
        const ff_feat_field_t *fields
    int ff_features_lookup(const char *scenario, const ff_feat_table_t **out) noexcept
    size_t ff_features_count() noexcept
    const ff_feat_table_t *ff_features_at(size_t i) noexcept
    uint32_t ff_feat_field_width(const ff_feat_field_t *f) noexcept
    uint32_t ff_features_width(const ff_feat_table_t *t) noexcept
    int ff_features_fill(const ff_feat_table_t *t, const uint8_t *obs, size_t n, size_t obs_stride,
                         float *out, size_t out_stride, const uint8_t *mask) noexcept


__all__ = ["Decoder", "SCENARIOS", "KINDS", "CELL_WIDTH"]

KINDS = {FF_FEAT_U8: "u8", FF_FEAT_I8: "i8", FF_FEAT_U16: "u16", FF_FEAT_I16: "i16",
         FF_FEAT_BITS: "bits", FF_FEAT_ONEHOT: "onehot", FF_FEAT_CELL: "cell",
         FF_FEAT_I16_CLIP: "i16_clip", FF_FEAT_PLAN_TILE: "plan_tile", FF_FEAT_PLAN_BITS: "plan_bits"}
CELL_WIDTH = FF_FEAT_CELL_WIDTH
SCENARIOS = tuple(ff_features_at(i).scenario.decode() for i in range(ff_features_count()))

# value range of one raw element by kind (scaled by the field's scale)
_RAW_RANGE = {FF_FEAT_U8: (0, 255), FF_FEAT_I8: (-128, 127), FF_FEAT_U16: (0, 65535),
              FF_FEAT_I16: (-32768, 32767)}
# kinds clipped to -1..1 after scaling (bounds: the scaled range, cut to -1..1)
_CLIPPED = {FF_FEAT_I16_CLIP: (-32768, 32767)}


cdef class Decoder:
    """The feature decoder of one scenario (its field table in csrc/ff_features.c)."""

    cdef const ff_feat_table_t *table
    cdef readonly str scenario
    cdef readonly int obs_bytes
    cdef readonly int width

    def __cinit__(self, str scenario):
        cdef const ff_feat_table_t *t = NULL
        if ff_features_lookup(scenario.encode(), &t) != 0:
            raise InvalidArgumentError(
                f"no feature table for scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
        self.table = t
        self.scenario = scenario
        self.obs_bytes = t.obs_bytes
        self.width = ff_features_width(t)

    def fields(self):
        """The table: one dict per field (name, offset, kind, n, count, stride, scale, width,
        start: its first column in the output row)."""
        out, start = [], 0
        for i in range(self.table.num_fields):
            f = &self.table.fields[i]
            w = ff_feat_field_width(f)
            out.append({"name": f.name.decode(), "offset": f.offset, "kind": KINDS[f.kind],
                        "n": f.n, "count": f.count, "stride": f.stride, "scale": f.scale,
                        "width": w, "start": start})
            start += w * f.count
        return out

    def bounds(self):
        """``(low, high)`` float32 arrays of ``width``: the exact range of each feature."""
        low = np.zeros(self.width, np.float32)
        high = np.ones(self.width, np.float32)
        col = 0
        for i in range(self.table.num_fields):
            f = &self.table.fields[i]
            w = ff_feat_field_width(f) * f.count
            if f.kind in _RAW_RANGE:
                lo, hi = _RAW_RANGE[f.kind]
                a, b = np.float32(lo) * np.float32(f.scale), np.float32(hi) * np.float32(f.scale)
                low[col:col + w], high[col:col + w] = min(a, b), max(a, b)
            elif f.kind in _CLIPPED:
                lo, hi = _CLIPPED[f.kind]
                a, b = np.float32(lo) * np.float32(f.scale), np.float32(hi) * np.float32(f.scale)
                low[col:col + w] = max(min(a, b), np.float32(-1))
                high[col:col + w] = min(max(a, b), np.float32(1))
            col += w
        return low, high

    def fill(self, const uint8_t[:, ::1] obs, float[:, ::1] out, const uint8_t[::1] mask=None):
        """Convert the rows of ``obs`` (uint8, ``(n, obs_bytes)``) into ``out`` (float32,
        ``(n, width)``). With ``mask`` (bool/uint8 ``(n,)``) only rows where it is set."""
        cdef size_t n = obs.shape[0]
        if obs.shape[1] != self.obs_bytes:
            raise InvalidArgumentError(
                f"{self.scenario}: observation rows must have {self.obs_bytes} bytes, got "
                f"{obs.shape[1]}")
        if out.shape[0] != <Py_ssize_t>n or out.shape[1] != self.width:
            raise InvalidArgumentError(
                f"{self.scenario}: out must have shape ({n}, {self.width}), got "
                f"({out.shape[0]}, {out.shape[1]})")
        if mask is not None and mask.shape[0] != <Py_ssize_t>n:
            raise InvalidArgumentError(f"mask must have shape ({n},), got ({mask.shape[0]},)")
        if n == 0:
            return
        cdef const uint8_t *m = &mask[0] if mask is not None else NULL
        cdef int rc
        with nogil:
            rc = ff_features_fill(self.table, &obs[0, 0], n, self.obs_bytes, &out[0, 0],
                                  self.width, m)
        check(rc, "features")
