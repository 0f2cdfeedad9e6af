"""Inspect and clean up factorio_fast's named shared-memory segments.

Every segment factorio_fast creates is named ``ff_*`` and starts with a header that records the
creator's pid and creation time (see ``csrc/ff_shm.h``). Normally a segment's name is removed as
soon as every party has attached, so a crash leaves nothing behind; a process killed *before*
that point (during start-up) can leave a name in ``/dev/shm``. :func:`reap_stale_segments`
removes those whose owner process is gone; the CLI runs it as ``factorio-fast reap``.

A segment counts as stale when

* its header is valid and its owner pid no longer runs (or runs a *different* process that
  started after the segment was created: the pid was reused), or
* it has no valid header (the creator died between creating the name and writing the header)
  and it has not been modified for ``grace_s`` seconds (so a creation in progress is never
  removed).

Only segments owned by the current user are considered: ``/dev/shm`` is sticky, so nobody else's
could be removed anyway.

Anything named ``ff_*`` that is not a regular file (a directory, FIFO, symbolic link, socket or
device node) is never opened, read or removed: opening a FIFO would block until a writer
appears, and following a link would read (and judge) a file elsewhere. Such entries are listed
with ``foreign=True`` and reported by :func:`reap` as entries it could not remove, as are stale
segments whose removal fails. The header is read here, from a descriptor opened with
``O_NONBLOCK | O_NOFOLLOW`` and checked with ``fstat`` first, not through the C mapping code.
"""

from __future__ import annotations

import os
import stat
import struct
import time
from dataclasses import dataclass, field

from factorio_fast import errors

__all__ = ["SegmentInfo", "ReapReport", "list_segments", "reap", "reap_stale_segments",
           "SHM_DIR"]

SHM_DIR = "/dev/shm"
_PREFIX = "ff_"

# The leading fields of ff_shm_header_t (csrc/ff_shm.h), in the creator's (native) byte order:
# magic, abi_version, header_size, layout_hash, total_size, user_size, owner_pid,
# attach_count, expected_parties, created_ns. The C struct has no padding before created_ns.
_HEADER = struct.Struct("=QIIQQQqIIQ")
_HEADER_SIZE = 512  # FF_SHM_HEADER_SIZE: a shorter file cannot be one of ours
_OPEN_FLAGS = (os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY
               | getattr(os, "O_CLOEXEC", 0))

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISLNK, "a symbolic link"),
          (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def _kind(mode: int) -> str:
    for test, what in _KINDS:
        if test(mode):
            return what
    return "not a regular file"


@dataclass(frozen=True)
class SegmentInfo:
    """One ``ff_*`` entry in ``/dev/shm``.

    Attributes
    ----------
    name : str
        The segment's name (as in ``/dev/shm``).
    size : int
        File size in bytes (header included).
    owner_pid : int or None
        The creator's pid from the header (None without a valid header).
    valid : bool
        The header's magic is factorio_fast's.
    alive : bool
        The owner process still runs (False without a valid header).
    stale : bool
        :func:`reap_stale_segments` would remove it.
    reason : str
        Why it is (or is not) stale, for humans.
    foreign : bool
        The entry is not something the reaper may examine: not a regular file (a directory,
        FIFO, symbolic link, socket or device), or a file that could not be opened. It is
        never read or removed, and :func:`reap` reports it as not removed.
    """

    name: str
    size: int
    owner_pid: int | None
    valid: bool
    alive: bool
    stale: bool
    reason: str
    foreign: bool = False


@dataclass(frozen=True)
class ReapReport:
    """What :func:`reap` did.

    Attributes
    ----------
    removed : list of str
        Stale segments removed (with ``dry_run``: that would be removed).
    failed : list of (str, str)
        ``ff_*`` entries left behind that are neither live nor being created, with the reason:
        entries that are not regular files or cannot be opened, and stale segments whose
        removal failed.
    dry_run : bool
        Nothing was removed.
    """

    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        """Nothing was left behind that should not be."""
        return not self.failed

    def summary(self) -> str:
        """One line, e.g. ``removed 2 stale segments, 1 entry could not be removed: ...``."""
        n = len(self.removed)
        out = (f"{'would remove' if self.dry_run else 'removed'} {n} stale segment"
               f"{'' if n == 1 else 's'}")
        if self.failed:
            k = len(self.failed)
            out += (f", {k} {'entry' if k == 1 else 'entries'} "
                    f"{'cannot' if self.dry_run else 'could not'} be removed: "
                    + "; ".join(f"{name} ({why})" for name, why in self.failed))
        return out


def _owner_state(pid: int, created_ns: int) -> tuple[bool, str]:
    """(alive, reason) for the owner ``pid`` of a segment created at ``created_ns`` (wall)."""
    if pid <= 0:
        return True, "owner pid unknown; kept"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False, f"owner pid {pid} is not running"
    except PermissionError:
        pass  # runs under another user: alive
    try:
        import psutil

        p = psutil.Process(pid)
        if p.status() == psutil.STATUS_ZOMBIE:
            return False, f"owner pid {pid} exited (zombie)"
        # The creator started before it created the segment; a process that started later is
        # a different one that reuses the pid. 1 s of slack for clock granularity.
        if created_ns and p.create_time() > created_ns / 1e9 + 1.0:
            return False, f"owner pid {pid} was reused by a newer process"
    except ImportError:  # pragma: no cover - psutil is a dependency
        pass
    except Exception:  # noqa: BLE001 - the process vanished while we looked: dead
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False, f"owner pid {pid} is not running"
        except PermissionError:
            pass
    return True, f"owner pid {pid} is running"


def _open_dir():
    """A descriptor of SHM_DIR, or None if there is no such directory."""
    try:
        return os.open(SHM_DIR, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None


def _foreign(name: str, st: os.stat_result, why: str) -> SegmentInfo:
    return SegmentInfo(name, st.st_size, None, False, False, False, why, foreign=True)


def _not_a_segment(name: str, st: os.stat_result) -> SegmentInfo:
    return _foreign(name, st, f"{_kind(st.st_mode)}, not a shared-memory segment")


def _examine(dfd: int, name: str, uid: int, grace_s: float):
    """``(SegmentInfo, (st_dev, st_ino))`` for entry ``name``, or None to ignore it (gone, or
    another user's)."""
    try:
        st = os.lstat(name, dir_fd=dfd)
    except FileNotFoundError:
        return None  # removed while we looked
    if st.st_uid != uid:
        return None
    if not stat.S_ISREG(st.st_mode):
        return _not_a_segment(name, st), None
    # The entry may be swapped for a FIFO or a link between lstat and open: O_NONBLOCK keeps
    # the open from waiting for a writer, O_NOFOLLOW refuses a link, and fstat decides.
    try:
        fd = os.open(name, _OPEN_FLAGS, dir_fd=dfd)
    except FileNotFoundError:
        return None
    except OSError as e:
        try:
            st = os.lstat(name, dir_fd=dfd)
        except FileNotFoundError:
            return None
        if not stat.S_ISREG(st.st_mode):
            return _not_a_segment(name, st), None
        return _foreign(name, st, f"cannot be opened: {e.strerror}"), None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return _not_a_segment(name, st), None
        if st.st_uid != uid:
            return None
        raw = os.pread(fd, _HEADER.size, 0) if st.st_size >= _HEADER_SIZE else b""
    except OSError as e:
        return _foreign(name, st, f"cannot be read: {e.strerror}"), None
    finally:
        os.close(fd)
    key = (st.st_dev, st.st_ino)
    from factorio_fast._bridge import SHM_MAGIC

    if len(raw) < _HEADER.size or _HEADER.unpack(raw)[0] != SHM_MAGIC:
        age = time.time() - st.st_mtime
        stale = age >= grace_s
        reason = (f"no valid factorio_fast header, unmodified for {age:.0f} s"
                  + ("" if stale else f" (< {grace_s:.0f} s: may be being created; kept)"))
        return SegmentInfo(name, st.st_size, None, False, False, stale, reason), key
    fields = _HEADER.unpack(raw)
    pid, created_ns = int(fields[6]), int(fields[9])
    alive, reason = _owner_state(pid, created_ns)
    return SegmentInfo(name, st.st_size, pid, True, alive, not alive, reason), key


def _scan(dfd: int, grace_s: float):
    uid = os.getuid()
    out = []
    for name in sorted(n for n in os.listdir(dfd) if n.startswith(_PREFIX)):
        r = _examine(dfd, name, uid, grace_s)
        if r is not None:
            out.append(r)
    return out


def list_segments(grace_s: float = 60.0) -> list[SegmentInfo]:
    """Every ``ff_*`` entry of the current user in ``/dev/shm``, sorted by name.

    Entries that are not regular files are listed with ``foreign=True`` (never opened).

    Parameters
    ----------
    grace_s : float
        A segment without a valid header counts as stale only once it has not been modified
        for this many seconds.
    """
    dfd = _open_dir()
    if dfd is None:
        return []
    try:
        return [info for info, _ in _scan(dfd, grace_s)]
    finally:
        os.close(dfd)


def _remove(dfd: int, name: str, key) -> bool | str:
    """Remove ``name`` if it is still the file examined as ``key``: True once removed, False if
    it is already gone, else why it was not removed."""
    try:
        st = os.lstat(name, dir_fd=dfd)
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != key:
        return "replaced by another file while the reaper looked; left alone"
    try:
        os.unlink(name, dir_fd=dfd)  # unlinkat: never follows a link, removes only the name
    except FileNotFoundError:
        return False
    except OSError as e:
        return f"removing it failed: {e.strerror or e}"
    return True


def reap(dry_run: bool = False, grace_s: float = 60.0) -> ReapReport:
    """Remove the names of stale ``ff_*`` segments (see the module docstring) and report what
    was left behind.

    Processes that still map a removed segment keep using it; only the name goes, and the
    memory is freed when the last mapping closes. One entry that cannot be removed does not
    stop the others from being removed.

    Parameters
    ----------
    dry_run : bool
        Only report what would be removed.
    grace_s : float
        See :func:`list_segments`.
    """
    report = ReapReport(dry_run=dry_run)
    dfd = _open_dir()
    if dfd is None:
        return report
    try:
        for info, key in _scan(dfd, grace_s):
            if info.foreign:
                report.failed.append((info.name, info.reason))
                continue
            if not info.stale:
                continue
            if not dry_run:
                done = _remove(dfd, info.name, key)
                if done is False:
                    continue  # someone else removed it first
                if done is not True:
                    report.failed.append((info.name, f"{info.reason}; {done}"))
                    continue
            report.removed.append(info.name)
    finally:
        os.close(dfd)
    return report


def reap_stale_segments(dry_run: bool = False, grace_s: float = 60.0) -> list[str]:
    """Remove the names of stale ``ff_*`` segments (see :func:`reap`).

    Returns
    -------
    list of str
        The names removed (or, with ``dry_run``, that would be).

    Raises
    ------
    ShmError
        Some ``ff_*`` entry could not be removed (see :attr:`ReapReport.failed`); every other
        stale segment has been removed by then, and the message names what was left.
    """
    report = reap(dry_run=dry_run, grace_s=grace_s)
    if not report.ok:
        raise errors.ShmError(report.summary())
    return report.removed


def main(argv=None) -> int:
    """``python -m factorio_fast.shm [--list] [--dry-run]``: list or reap stale segments.

    Exits 1 if some ``ff_*`` entry could not be (or, with ``--dry-run``, cannot be) removed.
    """
    import argparse

    p = argparse.ArgumentParser(prog="python -m factorio_fast.shm",
                                description="List or remove stale factorio_fast segments.")
    p.add_argument("--list", action="store_true", help="list every ff_* segment and exit")
    p.add_argument("--dry-run", action="store_true", help="show what would be removed")
    p.add_argument("--grace", type=float, default=60.0, metavar="S",
                   help="age before a header-less segment counts as stale (default 60)")
    args = p.parse_args(argv)
    if args.list:
        for seg in list_segments(grace_s=args.grace):
            flag = "other" if seg.foreign else "stale" if seg.stale else "live"
            print(f"{seg.name:<40} {seg.size:>12} B  {flag:<5}  {seg.reason}")
        return 0
    return print_reap(reap(dry_run=args.dry_run, grace_s=args.grace))


def print_reap(report: ReapReport) -> int:
    """Print ``report`` (one line per removed name, then the summary); the exit status."""
    verb = "would remove" if report.dry_run else "removed"
    for name in report.removed:
        print(f"{verb} {name}")
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
