"""``factorio-fast reap`` against hostile ``ff_*`` entries in /dev/shm: a FIFO (opening it would
block forever), a directory (cannot be unlinked), symbolic links (must not be read or removed
through), and a segment whose removal fails. In each case reap must finish, remove the stale
segments it can, leave the rest alone, name them, and exit non-zero.

The CLI runs in a subprocess with a timeout so a reap that blocks fails the test instead of
hanging the suite. /dev/shm is shared with whatever else runs on the machine, so every entry
made here has a unique name and is removed in a ``finally`` (a FIFO is first opened read-write,
which releases any other process whose open() of it is waiting for a writer).
"""

import contextlib
import multiprocessing as mp
import os
import stat
import subprocess
import sys
import uuid

import pytest

from factorio_fast import errors, shm
from factorio_fast._bridge import SharedArena, peek_segment

from conftest import shm_names

CLI_TIMEOUT = 60.0
_unlink = os.unlink  # cleanup must work while a test has os.unlink patched


def _unique(tag):
    return f"ff_{tag}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


def _create_and_die(conn):
    a = SharedArena.create(4096)
    conn.send(a.name)  # synchronous: the name is in the pipe before we die
    os.kill(os.getpid(), 9)


@contextlib.contextmanager
def stale_segment():
    """A real segment whose creator was SIGKILLed (so its header names a dead pid)."""
    ctx = mp.get_context("fork")
    r, w = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_create_and_die, args=(w,))
    p.start()
    name = None
    try:
        assert r.poll(20.0)
        name = r.recv()
        p.join(20.0)
        assert p.exitcode == -9 and name in shm_names()
        yield name
    finally:
        if p.is_alive():
            p.kill()
            p.join()
        if name is not None:
            with contextlib.suppress(FileNotFoundError):
                _unlink(os.path.join(shm.SHM_DIR, name))


def _dead_pid():
    ctx = mp.get_context("fork")
    p = ctx.Process(target=os._exit, args=(0,))
    p.start()
    p.join(20.0)
    assert p.exitcode == 0
    return p.pid


def _release_fifo(path):
    """Remove a FIFO so nothing can stay blocked on it: opening it read-write (which never
    blocks on Linux) gives it a writer, which completes any open() already waiting on it (some
    other process scanning /dev/shm); then the name goes, then our end closes."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    except FileNotFoundError:
        return
    try:
        with contextlib.suppress(FileNotFoundError):  # another test run's cleanup beat us
            os.unlink(path)
    finally:
        os.close(fd)


def _run(*args):
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    try:
        return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                              timeout=CLI_TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{' '.join(args)} did not finish within {CLI_TIMEOUT:.0f} s (blocked?)")


def _reap(*flags):
    return _run("-m", "factorio_fast.cli", "reap", *flags)


def test_reap_finishes_and_leaves_a_fifo_alone():
    path = os.path.join(shm.SHM_DIR, _unique("fifo"))
    name = os.path.basename(path)
    os.mkfifo(path, 0o600)
    try:
        with stale_segment() as seg:
            for r in (_reap("--dry-run"), _run("-m", "factorio_fast.shm", "--dry-run")):
                assert r.returncode == 1, r.stdout + r.stderr
                assert "Traceback" not in r.stderr
                assert f"would remove {seg}" in r.stdout
                assert f"would remove {name}" not in r.stdout
                assert name in r.stdout + r.stderr and "FIFO" in r.stdout + r.stderr
            assert seg in shm_names()

            r = _run("-m", "factorio_fast.shm", "--list")
            assert r.returncode == 0, r.stderr
            line = next(ln for ln in r.stdout.splitlines() if ln.startswith(name))
            assert "FIFO" in line

            r = _reap()
            assert r.returncode == 1, r.stdout + r.stderr
            assert "Traceback" not in r.stderr
            assert f"removed {seg}" in r.stdout
            assert "1 entry could not be removed" in r.stdout and name in r.stdout
            assert seg not in shm_names()
            assert stat.S_ISFIFO(os.lstat(path).st_mode)
    finally:
        _release_fifo(path)


def test_reap_skips_a_directory_and_removes_the_stale_segment_next_to_it():
    name = f"ff_{_dead_pid()}_x_{uuid.uuid4().hex[:8]}"
    path = os.path.join(shm.SHM_DIR, name)
    os.mkdir(path, 0o700)
    inner = os.path.join(path, "data")
    try:
        with open(inner, "wb") as f:
            f.write(b"\0" * 1024)
        # Old enough that a reaper treating it as a header-less segment would call it stale.
        os.utime(path, (0, 0))
        with stale_segment() as seg:
            r = _reap("--dry-run")
            assert r.returncode == 1, r.stdout + r.stderr
            assert f"would remove {seg}" in r.stdout
            assert f"would remove {name}" not in r.stdout
            assert "1 entry cannot be removed" in r.stdout and name in r.stdout
            assert seg in shm_names() and os.path.isdir(path)

            r = _reap()
            assert r.returncode == 1, r.stdout + r.stderr
            assert "Traceback" not in r.stderr
            assert f"removed {seg}" in r.stdout
            summary = r.stdout.strip().splitlines()[-1]
            assert summary.startswith("removed 1 stale segment, 1 entry could not be removed: ")
            assert name in summary and "directory" in summary
            assert seg not in shm_names()
            assert os.path.isdir(path) and os.path.getsize(inner) == 1024
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(inner)
        with contextlib.suppress(FileNotFoundError):
            os.rmdir(path)


def test_reap_does_not_read_or_remove_through_symlinks(tmp_path):
    # The target looks exactly like a stale segment: a reaper that followed the link would read
    # a dead owner's header through it and remove the link.
    with stale_segment() as seg:
        with open(os.path.join(shm.SHM_DIR, seg), "rb") as f:
            image = f.read()
    target = tmp_path / "segment_image"
    target.write_bytes(image)
    os.utime(target, (0, 0))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)  # following this link would block
    links = {_unique("link"): target, _unique("fifolink"): fifo}
    try:
        for name, to in links.items():
            os.symlink(to, os.path.join(shm.SHM_DIR, name))
        for flags in (("--dry-run",), ()):
            r = _reap(*flags)
            assert r.returncode == 1, r.stdout + r.stderr
            assert "Traceback" not in r.stderr
            for name in links:
                assert f"remove {name}" not in r.stdout
                assert name in r.stdout
                assert os.path.islink(os.path.join(shm.SHM_DIR, name))
            assert "symbolic link" in r.stdout
        assert target.read_bytes() == image and stat.S_ISFIFO(os.lstat(fifo).st_mode)
        infos = {s.name: s for s in shm.list_segments()}
        for name in links:
            assert infos[name].foreign and not infos[name].stale and not infos[name].valid
            assert infos[name].owner_pid is None
    finally:
        for name in links:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(shm.SHM_DIR, name))
        _release_fifo(str(fifo))


def test_reap_reports_a_failed_removal_and_removes_the_rest(monkeypatch, capsys):
    from factorio_fast import cli

    with stale_segment() as bad, stale_segment() as good:
        def unlink(path, *args, **kwargs):
            if os.path.basename(os.fsdecode(path)) == bad:
                raise PermissionError(1, "Operation not permitted")
            return _unlink(path, *args, **kwargs)

        monkeypatch.setattr(os, "unlink", unlink)
        report = shm.reap()
        assert good in report.removed and bad not in report.removed
        assert not report.ok and dict(report.failed)[bad].endswith("Operation not permitted")
        assert good not in shm_names() and bad in shm_names()

        with pytest.raises(errors.ShmError, match=bad):
            shm.reap_stale_segments()
        assert bad in shm_names()

        assert cli.main(["reap"]) == 1
        out = capsys.readouterr().out
        assert f"could not be removed: {bad}" in out and "Operation not permitted" in out
        monkeypatch.undo()
        assert bad in shm.reap().removed


def test_list_segments_reads_the_header_as_the_c_side_does():
    with SharedArena.create(256) as a:
        info = {s.name: s for s in shm.list_segments()}[a.name]
        h = peek_segment(a.name)
        assert info.valid and info.alive and not info.stale and not info.foreign
        assert info.owner_pid == h["owner_pid"] == os.getpid()
        assert info.size == h["total_size"]


def test_reap_judges_a_short_or_foreign_regular_file_by_age_only():
    name = _unique("junk")
    path = os.path.join(shm.SHM_DIR, name)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        os.write(fd, b"not a segment header" * 40)  # > 512 bytes, wrong magic
        os.close(fd)
        info = {s.name: s for s in shm.list_segments()}[name]
        assert not info.valid and not info.stale and not info.foreign
        report = shm.reap()
        assert name not in report.removed and name not in dict(report.failed)
        os.utime(path, (0, 0))
        assert name in shm.reap().removed
        assert name not in shm_names()
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
