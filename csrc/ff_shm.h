/*
 * ff_shm.h - named shared-memory segments (Boost.Interprocess underneath, C API on top).
 *
 * A segment is  [ff_shm_header_t (512 bytes)][user area (user_size bytes)]  created mode 0600.
 * The header carries {magic, abi_version, ff_layout_hash(), total/user size, owner pid,
 * attach count / expected parties}; ff_shm_open() validates it before handing out the mapping,
 * so two builds with different layouts refuse to talk (FF_ELAYOUT) instead of corrupting each
 * other.
 *
 * Lifetime: the name can be removed (ff_shm_unlink / ff_shm_remove) while mappings stay valid
 * (POSIX semantics), so a creator unlinks as soon as every party has attached and a crash
 * leaves nothing behind in /dev/shm. With expected_parties > 0 the attach that completes the
 * count removes the name itself.
 *
 * Errors: every function returns FF_OK or a negative FF_E* code; functions taking `int *err`
 * store the OS errno there (0 if none) for diagnostics. No function throws, prints or aborts:
 * the .cpp catches every Boost exception.
 */
#ifndef FF_SHM_H
#define FF_SHM_H

#include "ff_common.h"

#define FF_SHM_MAGIC 0x314d48535f5f4646ull /* "FF__SHM1" little-endian */
#define FF_SHM_HEADER_SIZE 512u
#define FF_SHM_NAME_MAX 200u

/* The segment header as it sits at offset 0 of every segment. Fields written once by the
 * creator before any other party can see the name; attach_count is updated atomically. */
typedef struct ff_shm_header {
    uint64_t magic;            /* FF_SHM_MAGIC */
    uint32_t abi_version;      /* FF_ABI_VERSION */
    uint32_t header_size;      /* FF_SHM_HEADER_SIZE */
    uint64_t layout_hash;      /* ff_layout_hash() */
    uint64_t total_size;       /* header + user area */
    uint64_t user_size;        /* bytes usable by the caller */
    int64_t owner_pid;         /* the creator's pid (the reaper's liveness key) */
    uint32_t attach_count;     /* parties that attached after creation (atomic) */
    uint32_t expected_parties; /* 0 = unknown; else the count at which the name is removed */
    uint64_t created_ns;       /* CLOCK_REALTIME at creation, for diagnostics */
    char name[FF_SHM_NAME_MAX + 8];
} ff_shm_header_t;

FF_STATIC_ASSERT(sizeof(ff_shm_header_t) <= FF_SHM_HEADER_SIZE, "header must fit its reservation");

typedef struct ff_shm ff_shm_t; /* opaque: one mapping of one segment */

FF_EXTERN_C_BEGIN

/* FF_OK if `name` is acceptable: 1..FF_SHM_NAME_MAX characters of [A-Za-z0-9_.-], not "." or
 * "..". FF_EINVAL otherwise (also for NULL). Pure; thread-safe. */
int ff_shm_name_check(const char *name);

/* Bytes available to an unprivileged user in the filesystem that backs segments (/dev/shm on
 * Linux) into *avail. FF_OK, FF_ESHM (+errno) or FF_EINVAL. Thread-safe. */
int ff_shm_free_space(uint64_t *avail, int *err);

/* Create a new segment `name` with `user_size` (> 0) usable bytes, mode 0600, fill in the header
 * and map it read-write. On success *out owns the mapping (release with ff_shm_close).
 * Returns FF_OK, FF_EINVAL (bad name/size), FF_EEXIST (name taken), FF_ENOSPC (free space in
 * /dev/shm below the segment size: checked with statvfs before creation, and by reserving the
 * pages), FF_ESHM (+errno), FF_ENOMEM. On failure nothing is left behind (the name is removed).
 * Thread-safe (no shared state). */
int ff_shm_create(const char *name, uint64_t user_size, uint32_t expected_parties,
                  ff_shm_t **out, int *err);

/* Open and map the existing segment `name`, validate its header and count this attach (the
 * attach completing expected_parties removes the name). Returns FF_OK, FF_EINVAL (bad name),
 * FF_ENOENT (no such segment), FF_ELAYOUT (magic, ABI version, layout hash or sizes do not
 * match this build; *err is then an FF_SHM_BAD_* reason), FF_ESHM (+errno), FF_ENOMEM. */
int ff_shm_open(const char *name, ff_shm_t **out, int *err);

/* Reasons stored in *err by ff_shm_open/ff_shm_peek when they return FF_ELAYOUT. */
enum {
    FF_SHM_BAD_MAGIC = 1,
    FF_SHM_BAD_ABI = 2,
    FF_SHM_BAD_HASH = 3,
    FF_SHM_BAD_SIZE = 4,
};

/* Read the header of segment `name` without counting an attach (read-only mapping). Used by
 * the reaper. FF_OK, FF_ENOENT, FF_ELAYOUT (not one of ours: too small or wrong magic; the
 * other fields are not checked), FF_ESHM (+errno), FF_EINVAL. */
int ff_shm_peek(const char *name, ff_shm_header_t *out, int *err);

/* Remove the name `name` (mappings stay valid). FF_OK, FF_ENOENT, FF_EINVAL, FF_ESHM (+errno). */
int ff_shm_remove(const char *name, int *err);

/* Remove this segment's name once (idempotent: later calls return FF_OK). FF_OK, FF_ESHM. */
int ff_shm_unlink(ff_shm_t *shm, int *err);

/* Accessors. Not thread-safe against ff_shm_close of the same handle. ff_shm_data returns the
 * start of the user area (64-byte aligned); the handle keeps ownership. ff_shm_user_size is the
 * size validated at create/open, kept in the handle (the header is writable by every party, so
 * lengths are never re-read from it); ff_shm_header points at the live, shared header. */
void *ff_shm_data(const ff_shm_t *shm);
uint64_t ff_shm_user_size(const ff_shm_t *shm);
const ff_shm_header_t *ff_shm_header(const ff_shm_t *shm);
const char *ff_shm_name(const ff_shm_t *shm);
int ff_shm_is_unlinked(const ff_shm_t *shm);

/* Unmap and free the handle (does not remove the name). NULL is accepted. Not thread-safe
 * against other uses of the same handle. */
void ff_shm_close(ff_shm_t *shm);

FF_EXTERN_C_END

#endif /* FF_SHM_H */
