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
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from factorio_fast import errors

__all__ = ["SegmentInfo", "list_segments", "reap_stale_segments", "SHM_DIR"]

SHM_DIR = "/dev/shm"
_PREFIX = "ff_"


@dataclass(frozen=True)
class SegmentInfo:
    """One ``ff_*`` segment in ``/dev/shm``.

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
    """

    name: str
    size: int
    owner_pid: int | None
    valid: bool
    alive: bool
    stale: bool
    reason: str


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


def list_segments(grace_s: float = 60.0) -> list[SegmentInfo]:
    """Every ``ff_*`` segment of the current user in ``/dev/shm``, sorted by name.

    Parameters
    ----------
    grace_s : float
        A segment without a valid header counts as stale only once it has not been modified
        for this many seconds.
    """
    from factorio_fast._bridge import peek_segment

    try:
        names = sorted(n for n in os.listdir(SHM_DIR) if n.startswith(_PREFIX))
    except FileNotFoundError:
        return []
    uid = os.getuid()
    out = []
    for name in names:
        path = os.path.join(SHM_DIR, name)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            continue  # removed while we looked
        if st.st_uid != uid:
            continue
        try:
            hdr = peek_segment(name)
        except errors.LayoutMismatchError:
            age = time.time() - st.st_mtime
            stale = age >= grace_s
            reason = (f"no valid factorio_fast header, unmodified for {age:.0f} s"
                      + ("" if stale else f" (< {grace_s:.0f} s: may be being created; kept)"))
            out.append(SegmentInfo(name, st.st_size, None, False, False, stale, reason))
            continue
        except (errors.ShmError, errors.InvalidArgumentError):
            continue  # vanished or unreadable (not ours to judge)
        pid = int(hdr["owner_pid"])
        alive, reason = _owner_state(pid, int(hdr["created_ns"]))
        out.append(SegmentInfo(name, st.st_size, pid, True, alive, not alive, reason))
    return out


def reap_stale_segments(dry_run: bool = False, grace_s: float = 60.0) -> list[str]:
    """Remove the names of stale ``ff_*`` segments (see the module docstring).

    Processes that still map a removed segment keep using it; only the name goes, and the
    memory is freed when the last mapping closes.

    Parameters
    ----------
    dry_run : bool
        Only report what would be removed.
    grace_s : float
        See :func:`list_segments`.

    Returns
    -------
    list of str
        The names removed (or, with ``dry_run``, that would be).
    """
    from factorio_fast._bridge import remove_segment

    removed = []
    for seg in list_segments(grace_s=grace_s):
        if not seg.stale:
            continue
        if not dry_run:
            try:
                remove_segment(seg.name)
            except errors.ShmError:
                if os.path.exists(os.path.join(SHM_DIR, seg.name)):
                    raise
                continue  # someone else removed it first
        removed.append(seg.name)
    return removed


def main(argv=None) -> int:
    """``python -m factorio_fast.shm [--list] [--dry-run]``: list or reap stale segments."""
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
            flag = "stale" if seg.stale else "live"
            print(f"{seg.name:<40} {seg.size:>12} B  {flag:<5}  {seg.reason}")
        return 0
    removed = reap_stale_segments(dry_run=args.dry_run, grace_s=args.grace)
    verb = "would remove" if args.dry_run else "removed"
    for name in removed:
        print(f"{verb} {name}")
    print(f"{len(removed)} stale segment(s) {verb}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
