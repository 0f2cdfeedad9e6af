/*
 * ff_shm.cpp - named shared-memory segments over Boost.Interprocess (shared_memory_object +
 * mapped_region). Every Boost call sits inside a try block: the C API never throws.
 */
#include "ff_shm.h"
#include "ff_layout.h"

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/permissions.hpp>
#include <boost/interprocess/shared_memory_object.hpp>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <new>
#include <string>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <unistd.h>
#define FF_SHM_POSIX 1
#endif

namespace bip = boost::interprocess;

struct ff_shm {
    bip::mapped_region region;
    /* The validated user-area size, kept here: the header lives in memory every party can
     * write, so it is read once (at create/open) and never trusted again for a length. */
    uint64_t user_size;
    char name[FF_SHM_NAME_MAX + 1];
    int unlinked;
};

static void set_err(int *err, int v) {
    if (err) *err = v;
}

/* Map a Boost exception to a status code and errno. */
static int from_boost(const bip::interprocess_exception &e, int *err) {
    set_err(err, e.get_native_error());
    switch (e.get_error_code()) {
    case bip::already_exists_error: return FF_EEXIST;
    case bip::not_found_error: return FF_ENOENT;
    case bip::out_of_space_error: return FF_ENOSPC;
    case bip::out_of_memory_error: return FF_ENOMEM;
    default: break;
    }
    switch (e.get_native_error()) {
    case EEXIST: return FF_EEXIST;
    case ENOENT: return FF_ENOENT;
    case ENOSPC: return FF_ENOSPC;
    case ENOMEM: return FF_ENOMEM;
    default: return FF_ESHM;
    }
}

extern "C" int ff_shm_name_check(const char *name) {
    if (!name) return FF_EINVAL;
    size_t n = 0;
    for (; name[n]; n++) {
        char c = name[n];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '.' || c == '-';
        if (!ok || n >= FF_SHM_NAME_MAX) return FF_EINVAL;
    }
    if (n == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return FF_EINVAL;
    return FF_OK;
}

extern "C" int ff_shm_free_space(uint64_t *avail, int *err) {
    set_err(err, 0);
    if (!avail) return FF_EINVAL;
#ifdef __linux__
    struct statvfs st;
    if (statvfs("/dev/shm", &st) != 0) {
        set_err(err, errno);
        return FF_ESHM;
    }
    *avail = (uint64_t)st.f_bavail * (uint64_t)st.f_frsize;
#else
    *avail = UINT64_MAX; /* no cheap portable query: rely on the reservation below */
#endif
    return FF_OK;
}

extern "C" int ff_shm_remove(const char *name, int *err) {
    set_err(err, 0);
    int rc = ff_shm_name_check(name);
    if (rc != FF_OK) return rc;
#ifdef FF_SHM_POSIX
    /* Boost's remove() reports only a bool; go to shm_unlink for the errno. */
    std::string path = std::string("/") + name;
    if (shm_unlink(path.c_str()) != 0) {
        set_err(err, errno);
        return errno == ENOENT ? FF_ENOENT : FF_ESHM;
    }
    return FF_OK;
#else
    try {
        return bip::shared_memory_object::remove(name) ? FF_OK : FF_ENOENT;
    } catch (...) {
        return FF_ESHM;
    }
#endif
}

extern "C" int ff_shm_create(const char *name, uint64_t user_size, uint32_t expected_parties,
                             ff_shm_t **out, int *err) {
    set_err(err, 0);
    if (!out) return FF_EINVAL;
    *out = NULL;
    int rc = ff_shm_name_check(name);
    if (rc != FF_OK) return rc;
    if (user_size == 0 || user_size > (UINT64_MAX >> 2)) return FF_EINVAL;
    uint64_t total = FF_SHM_HEADER_SIZE + user_size;
    uint64_t avail = 0;
    rc = ff_shm_free_space(&avail, err);
    if (rc != FF_OK) return rc;
    if (avail < total) return FF_ENOSPC;

    ff_shm_t *s = new (std::nothrow) ff_shm_t();
    if (!s) return FF_ENOMEM;
    int created = 0;
    try {
        bip::permissions perm(0600);
        bip::shared_memory_object obj(bip::create_only, name, bip::read_write, perm);
        created = 1;
        obj.truncate((bip::offset_t)total);
#if defined(__linux__)
        /* Reserve the pages now: tmpfs is sparse, and running out later would be a SIGBUS on
         * first touch instead of an error here. */
        int frc = posix_fallocate(obj.get_mapping_handle().handle, 0, (off_t)total);
        if (frc == ENOSPC) {
            set_err(err, frc);
            rc = FF_ENOSPC;
            goto fail;
        }
#endif
        {
            bip::mapped_region region(obj, bip::read_write, 0, (std::size_t)total);
            s->region.swap(region);
        }
    } catch (const bip::interprocess_exception &e) {
        rc = from_boost(e, err);
        goto fail;
    } catch (const std::bad_alloc &) {
        rc = FF_ENOMEM;
        goto fail;
    } catch (...) {
        rc = FF_ESHM;
        goto fail;
    }
    {
        ff_shm_header_t *h = (ff_shm_header_t *)s->region.get_address();
        memset(h, 0, FF_SHM_HEADER_SIZE);
        h->abi_version = FF_ABI_VERSION;
        h->header_size = FF_SHM_HEADER_SIZE;
        h->layout_hash = ff_layout_hash();
        h->total_size = total;
        h->user_size = user_size;
#ifdef FF_SHM_POSIX
        h->owner_pid = (int64_t)getpid();
#endif
        h->expected_parties = expected_parties;
        struct timespec ts;
        if (timespec_get(&ts, TIME_UTC) == TIME_UTC)
            h->created_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
        strncpy(h->name, name, FF_SHM_NAME_MAX);
        /* The magic goes last, with release order: a reader that sees it sees the rest. */
        __atomic_store_n(&h->magic, FF_SHM_MAGIC, __ATOMIC_RELEASE);
    }
    s->user_size = user_size;
    strncpy(s->name, name, FF_SHM_NAME_MAX);
    *out = s;
    return FF_OK;

fail:
    if (created) ff_shm_remove(name, NULL);
    delete s;
    return rc;
}

/* Map `name` (read-write or read-only) into s->region. */
static int map_existing(const char *name, ff_shm_t *s, bool writable, int *err) {
    try {
        bip::mode_t mode = writable ? bip::read_write : bip::read_only;
        bip::shared_memory_object obj(bip::open_only, name, mode);
        bip::offset_t size = 0;
        if (!obj.get_size(size) || size < (bip::offset_t)FF_SHM_HEADER_SIZE) {
            set_err(err, FF_SHM_BAD_SIZE);
            return FF_ELAYOUT;
        }
        bip::mapped_region region(obj, mode, 0, (std::size_t)size);
        s->region.swap(region);
    } catch (const bip::interprocess_exception &e) {
        return from_boost(e, err);
    } catch (const std::bad_alloc &) {
        return FF_ENOMEM;
    } catch (...) {
        return FF_ESHM;
    }
    return FF_OK;
}

extern "C" int ff_shm_open(const char *name, ff_shm_t **out, int *err) {
    set_err(err, 0);
    if (!out) return FF_EINVAL;
    *out = NULL;
    int rc = ff_shm_name_check(name);
    if (rc != FF_OK) return rc;
    ff_shm_t *s = new (std::nothrow) ff_shm_t();
    if (!s) return FF_ENOMEM;
    rc = map_existing(name, s, true, err);
    if (rc != FF_OK) goto fail;
    {
        ff_shm_header_t *h = (ff_shm_header_t *)s->region.get_address();
        uint64_t mapped = (uint64_t)s->region.get_size();
        if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != FF_SHM_MAGIC) {
            set_err(err, FF_SHM_BAD_MAGIC);
            rc = FF_ELAYOUT;
            goto fail;
        }
        if (h->abi_version != FF_ABI_VERSION) {
            set_err(err, FF_SHM_BAD_ABI);
            rc = FF_ELAYOUT;
            goto fail;
        }
        if (h->layout_hash != ff_layout_hash()) {
            set_err(err, FF_SHM_BAD_HASH);
            rc = FF_ELAYOUT;
            goto fail;
        }
        /* Each field read once (a peer may be rewriting them), then checked as a whole. */
        uint32_t header_size = __atomic_load_n(&h->header_size, __ATOMIC_RELAXED);
        uint64_t total_size = __atomic_load_n(&h->total_size, __ATOMIC_RELAXED);
        uint64_t user_size = __atomic_load_n(&h->user_size, __ATOMIC_RELAXED);
        if (header_size != FF_SHM_HEADER_SIZE || total_size != mapped || user_size == 0 ||
            user_size != total_size - FF_SHM_HEADER_SIZE) {
            set_err(err, FF_SHM_BAD_SIZE);
            rc = FF_ELAYOUT;
            goto fail;
        }
        s->user_size = user_size;
        strncpy(s->name, name, FF_SHM_NAME_MAX);
        uint32_t n = __atomic_add_fetch(&h->attach_count, 1u, __ATOMIC_ACQ_REL);
        if (h->expected_parties != 0 && n == h->expected_parties) {
            /* Every party is in: remove the name so a crash cannot leak the segment. */
            ff_shm_unlink(s, NULL);
        }
    }
    *out = s;
    return FF_OK;
fail:
    delete s;
    return rc;
}

extern "C" int ff_shm_peek(const char *name, ff_shm_header_t *out, int *err) {
    set_err(err, 0);
    if (!out) return FF_EINVAL;
    int rc = ff_shm_name_check(name);
    if (rc != FF_OK) return rc;
    ff_shm_t *s = new (std::nothrow) ff_shm_t();
    if (!s) return FF_ENOMEM;
    rc = map_existing(name, s, false, err);
    if (rc == FF_OK) {
        const ff_shm_header_t *h = (const ff_shm_header_t *)s->region.get_address();
        if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != FF_SHM_MAGIC) {
            set_err(err, FF_SHM_BAD_MAGIC);
            rc = FF_ELAYOUT;
        } else {
            memcpy(out, h, sizeof *out);
        }
    }
    delete s;
    return rc;
}

extern "C" int ff_shm_unlink(ff_shm_t *shm, int *err) {
    set_err(err, 0);
    if (!shm) return FF_EINVAL;
    if (shm->unlinked) return FF_OK;
    int rc = ff_shm_remove(shm->name, err);
    if (rc == FF_ENOENT) rc = FF_OK; /* someone else (an attacher, the reaper) removed it */
    if (rc == FF_OK) shm->unlinked = 1;
    return rc;
}

extern "C" void *ff_shm_data(const ff_shm_t *shm) {
    return shm ? (char *)shm->region.get_address() + FF_SHM_HEADER_SIZE : NULL;
}

extern "C" uint64_t ff_shm_user_size(const ff_shm_t *shm) {
    return shm ? shm->user_size : 0;
}

extern "C" const ff_shm_header_t *ff_shm_header(const ff_shm_t *shm) {
    return shm ? (const ff_shm_header_t *)shm->region.get_address() : NULL;
}

extern "C" const char *ff_shm_name(const ff_shm_t *shm) {
    return shm ? shm->name : NULL;
}

extern "C" int ff_shm_is_unlinked(const ff_shm_t *shm) {
    return shm ? shm->unlinked : 1;
}

extern "C" void ff_shm_close(ff_shm_t *shm) {
    delete shm; /* mapped_region's destructor unmaps; it does not throw */
}
