# cython: language_level=3
# Declarations of the shared-memory headers (csrc/ff_shm.h, ff_wait.h, ff_handoff.h, ff_ring.h,
# ff_seqlock.h, ff_bridge_layout.h): what the Cython modules use.
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t


cdef extern from "ff_shm.h" nogil:
    uint64_t FF_SHM_MAGIC
    enum:
        FF_SHM_HEADER_SIZE
        FF_SHM_NAME_MAX
        FF_SHM_BAD_MAGIC
        FF_SHM_BAD_ABI
        FF_SHM_BAD_HASH
        FF_SHM_BAD_SIZE
    ctypedef struct ff_shm_header_t:
        uint64_t magic
        uint32_t abi_version
        uint32_t header_size
        uint64_t layout_hash
        uint64_t total_size
        uint64_t user_size
        int64_t owner_pid
        uint32_t attach_count
        uint32_t expected_parties
        uint64_t created_ns
        char name[208]
    ctypedef struct ff_shm_t:
        pass
    int ff_shm_name_check(const char *name) noexcept
    int ff_shm_free_space(uint64_t *avail, int *err) noexcept
    int ff_shm_create(const char *name, uint64_t user_size, uint32_t expected_parties,
                      ff_shm_t **out, int *err) noexcept
    int ff_shm_open(const char *name, ff_shm_t **out, int *err) noexcept
    int ff_shm_peek(const char *name, ff_shm_header_t *out, int *err) noexcept
    int ff_shm_remove(const char *name, int *err) noexcept
    int ff_shm_unlink(ff_shm_t *shm, int *err) noexcept
    void *ff_shm_data(const ff_shm_t *shm) noexcept
    uint64_t ff_shm_user_size(const ff_shm_t *shm) noexcept
    const ff_shm_header_t *ff_shm_header(const ff_shm_t *shm) noexcept
    const char *ff_shm_name(const ff_shm_t *shm) noexcept
    int ff_shm_is_unlinked(const ff_shm_t *shm) noexcept
    void ff_shm_close(ff_shm_t *shm) noexcept


cdef extern from "ff_wait.h" nogil:
    enum:
        FF_DEFAULT_SPIN_NS
        FF_SPIN_YIELD_NS
    enum ff_wait_mode:
        FF_WAIT_AUTO
        FF_WAIT_SPIN
        FF_WAIT_BLOCK
    ctypedef struct ff_peer_death_t:
        int32_t worker
        int32_t pid
        int32_t exitcode
        int32_t exit_known
    int64_t ff_now_ns() noexcept
    int64_t ff_deadline_ns(int64_t start, int64_t timeout_ns) noexcept
    int ff_usable_cpus() noexcept
    int64_t ff_wait_spin_budget(int mode, int64_t spin_ns, int64_t parties) noexcept
    int ff_futex_wait(uint32_t *word, uint32_t expected, int64_t timeout_ns) noexcept
    int ff_spin_check(int64_t start, int64_t spin_end) noexcept
    int ff_futex_wake(uint32_t *word, int n) noexcept
    int ff_pid_alive(int32_t pid, int32_t *exitcode, int32_t *exit_known) noexcept
    int ff_peer_check(int32_t pid, int32_t worker, ff_peer_death_t *death) noexcept


cdef extern from "ff_handoff.h" nogil:
    enum:
        FF_HANDOFF_MAGIC
        FF_HANDOFF_MAX_WORKERS
    ctypedef struct ff_handoff_t:
        void *mem
        uint32_t num_workers
        int64_t spin_ns
    size_t ff_handoff_size(uint32_t num_workers) noexcept
    int ff_handoff_init(ff_handoff_t *h, void *mem, size_t size, uint32_t num_workers,
                        int32_t trainer_pid, int mode, int64_t spin_ns) noexcept
    int ff_handoff_attach(ff_handoff_t *h, void *mem, size_t size, uint32_t num_workers,
                          int mode, int64_t spin_ns) noexcept
    int ff_handoff_set_worker_pid(ff_handoff_t *h, uint32_t w, int32_t pid) noexcept
    int ff_handoff_worker_pid(const ff_handoff_t *h, uint32_t w, int32_t *pid) noexcept
    int ff_handoff_trainer_pid(const ff_handoff_t *h, int32_t *pid) noexcept
    int ff_handoff_post(ff_handoff_t *h, uint32_t w, uint32_t command, uint64_t arg) noexcept
    int ff_handoff_wait(ff_handoff_t *h, uint32_t w, int64_t timeout_ns,
                        ff_peer_death_t *death) noexcept
    int ff_handoff_wait_all(ff_handoff_t *h, int64_t timeout_ns, ff_peer_death_t *death) noexcept
    int ff_handoff_wait_any(ff_handoff_t *h, uint32_t *ready, uint32_t *count, int64_t timeout_ns,
                            ff_peer_death_t *death) noexcept
    int ff_handoff_wait_command(ff_handoff_t *h, uint32_t w, uint32_t *command, uint64_t *arg,
                                int64_t timeout_ns, ff_peer_death_t *death) noexcept
    int ff_handoff_complete(ff_handoff_t *h, uint32_t w, int32_t status) noexcept
    int ff_handoff_status(const ff_handoff_t *h, uint32_t w, int32_t *status) noexcept
    int ff_handoff_outstanding(const ff_handoff_t *h, uint32_t w) noexcept
    int ff_handoff_bench_trainer(ff_handoff_t *h, uint32_t w, uint32_t command, uint64_t n,
                                 void *msg, uint32_t msg_len, int64_t timeout_ns,
                                 ff_peer_death_t *death) noexcept
    int ff_handoff_bench_worker(ff_handoff_t *h, uint32_t w, uint32_t stop_command,
                                uint64_t *served, void *msg, uint32_t msg_len,
                                int64_t timeout_ns, ff_peer_death_t *death) noexcept


cdef extern from "ff_ring.h" nogil:
    enum:
        FF_RING_MAGIC
        FF_RING_MAX_CAPACITY
        FF_RING_MAX_SLOT
    ctypedef struct ff_ring_t:
        void *mem
        uint32_t *lens
        uint8_t *slots
        uint32_t capacity
        uint32_t mask
        uint32_t slot_size
        int64_t spin_ns
    size_t ff_ring_size(uint32_t capacity, uint32_t slot_size) noexcept
    int ff_ring_init(ff_ring_t *r, void *mem, size_t size, uint32_t capacity, uint32_t slot_size,
                     int64_t spin_ns) noexcept
    int ff_ring_attach(ff_ring_t *r, void *mem, size_t size, uint32_t capacity,
                       uint32_t slot_size, int64_t spin_ns) noexcept
    int ff_ring_put(ff_ring_t *r, const void *item, uint32_t len, int64_t timeout_ns) noexcept
    int ff_ring_put_many(ff_ring_t *r, const uint8_t *items, size_t stride, const uint32_t *lens,
                         uint32_t n, int64_t timeout_ns, uint32_t *done) noexcept
    int ff_ring_get(ff_ring_t *r, void *out, uint32_t out_cap, uint32_t *len,
                    int64_t timeout_ns) noexcept
    int ff_ring_get_many(ff_ring_t *r, uint8_t *out, size_t stride, uint32_t *lens, uint32_t max,
                         int64_t timeout_ns, uint32_t *got) noexcept
    uint32_t ff_ring_count(const ff_ring_t *r) noexcept


cdef extern from "ff_seqlock.h" nogil:
    void ff_seqlock_write(uint32_t *seq, void *dst, const void *src, size_t n) noexcept
    int ff_seqlock_read(const uint32_t *seq, void *dst, const void *src, size_t n,
                        uint32_t max_tries, uint32_t *seq_out) noexcept


cdef extern from "ff_bridge_layout.h" nogil:
    enum:
        FF_BRIDGE_MAGIC
        FF_BRIDGE_MAX_ENVS
        FF_BRIDGE_SEQ_STRIDE
    ctypedef struct ff_bridge_header_t:
        uint32_t magic
        uint32_t num_envs
        uint32_t state_size
        uint32_t action_size
    ctypedef struct ff_bridge_offsets_t:
        size_t state_seq
        size_t action_seq
        size_t states
        size_t actions
        size_t total
    ff_bridge_offsets_t ff_bridge_offsets(size_t num_envs) noexcept
