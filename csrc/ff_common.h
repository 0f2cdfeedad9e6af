/*
 * ff_common.h - status codes and small portability helpers shared by the whole C core.
 *
 * Every fallible function of the core returns an int status: FF_OK (0) on success, a negative
 * FF_E* code on failure. Results travel through out-pointers. The core never prints, never
 * aborts on input and never includes Python.h; the Cython layer maps codes to exceptions in one
 * place (factorio_fast/_ffcore.pxd: check()).
 */
#ifndef FF_COMMON_H
#define FF_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define FF_EXTERN_C_BEGIN extern "C" {
#define FF_EXTERN_C_END }
#define FF_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define FF_EXTERN_C_BEGIN
#define FF_EXTERN_C_END
#define FF_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

#if defined(__GNUC__) || defined(__clang__)
#define FF_LIKELY(x) __builtin_expect(!!(x), 1)
#define FF_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define FF_LIKELY(x) (x)
#define FF_UNLIKELY(x) (x)
#endif

/* Bulk loops built twice, for AVX2 and for the baseline ISA, picked at load time (GCC function
 * multiversioning through an ifunc), so portable wheels still use AVX2 where the CPU has it. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define FF_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FF_SIMD_CLONES
#endif

/* Everything that is shared between processes is laid out on its own cache line(s). */
#define FF_CACHE_LINE 64

/* The wire and the shared layouts are little-endian; we only build on little-endian hosts. */
#if defined(__BYTE_ORDER__) && (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__)
#error "factorio_fast requires a little-endian host (the shared and wire layouts are little-endian)"
#endif

/* Status codes. Keep in sync with ff_strerror() in ff_common.c and the mapping to exception
 * classes in factorio_fast/_ffcore.pxd. Never renumber: they cross the ABI. */
enum ff_status {
    FF_OK = 0,
    FF_EINVAL = -1,    /* invalid argument (NULL, bad size, bad enum)            -> ValueError */
    FF_ERANGE = -2,    /* a value is outside its field's range                  -> ValueError */
    FF_ETRUNC = -3,    /* frame shorter than its header or declared length      -> ProtocolError */
    FF_EMAGIC = -4,    /* frame magic is not 0xFA57                             -> ProtocolError */
    FF_EVERSION = -5,  /* unsupported frame version                             -> ProtocolError */
    FF_ETYPE = -6,     /* unknown frame type                                     -> ProtocolError */
    FF_ELENGTH = -7,   /* payload length does not fit the frame type            -> ProtocolError */
    FF_ETOOBIG = -8,   /* payload above the configured maximum                  -> ProtocolError */
    FF_EFULL = -9,     /* ring full (non-blocking or timed out)                 -> RingFull */
    FF_EEMPTY = -10,   /* ring empty (non-blocking or timed out)                -> RingEmpty */
    FF_ETIMEDOUT = -11,/* a wait ran out of time                                -> TimeoutError */
    FF_EPEERDEAD = -12,/* the peer process is gone                              -> WorkerError */
    FF_ESHM = -13,     /* shared-memory system call failed (errno in out-param) -> ShmError */
    FF_ELAYOUT = -14,  /* segment header does not match this build              -> ShmError */
    FF_ENOSPC = -15,   /* not enough free space in /dev/shm                     -> ShmError */
    FF_EEXIST = -16,   /* named segment already exists                          -> ShmError */
    FF_ENOENT = -17,   /* named segment does not exist                          -> ShmError */
    FF_ENOMEM = -18,   /* allocation failed                                     -> MemoryError */
    FF_ECLOSED = -19,  /* object already closed / shut down                     -> ValueError */
    FF_EEXTRA = -20,   /* trailing bytes after a complete frame                 -> ProtocolError */
    FF_ESTATE = -21,   /* operation not valid in the current state              -> RuntimeError */
};

FF_EXTERN_C_BEGIN

/* A static, NUL-terminated English description of a status code. Never NULL. Thread-safe. */
const char *ff_strerror(int status);

FF_EXTERN_C_END

#endif /* FF_COMMON_H */
