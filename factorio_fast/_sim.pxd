# The BatchSim extension type's C-level declarations, so other extension modules can cimport
# it (factorio_fast._infos reads the simulator handle through _live()). The class itself, with
# its docs and methods, is in _sim.pyx.
from factorio_fast._ffsim cimport ff_sim_t


cdef class BatchSim:
    cdef ff_sim_t *_sim
    cdef readonly int num_envs
    cdef readonly str scenario
    cdef readonly tuple obs_shape
    cdef readonly object obs_dtype
    cdef readonly tuple action_shape
    cdef readonly object action_nvec
    cdef readonly object single_observation_space
    cdef readonly object single_action_space
    cdef readonly int episode_steps
    cdef readonly int ticks_per_step
    cdef readonly int obstacles
    cdef readonly int goal
    cdef int _obs_bytes
    cdef int _dims
    # Calls running without the GIL on this batch (reset, step, a World view's tick): close()
    # refuses while it is non-zero, since that C code still uses the memory close() would free.
    cdef int _busy

    cdef ff_sim_t *_live(self) except NULL
