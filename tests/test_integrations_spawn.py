"""Workers under the 'spawn' start method (what ``import torchrl`` selects): from a script with
the main guard, from a program read on stdin, and a clear error for a script without the guard.

Each case runs a fresh interpreter, as a user would."""

import subprocess
import sys
import textwrap

import pytest

GUARDED = textwrap.dedent("""
    import multiprocessing as mp
    import numpy as np
    {preamble}
    import factorio_fast

    def main():
        env = factorio_fast.make_vec("movement_micro", 4, num_workers=2, obs="features")
        assert mp.get_start_method() == "spawn", mp.get_start_method()
        obs, _ = env.reset(seed=0)
        obs, *_ = env.step(np.zeros(4, np.int64))
        ref = factorio_fast.make_vec("movement_micro", 4, obs="features")
        ref.reset(seed=0)
        assert (ref.step(np.zeros(4, np.int64))[0] == obs).all()
        env.close()
        ref.close()
        print("STEPPED", obs.shape)

    if __name__ == "__main__":
        {set_method}
        main()
""")

UNGUARDED = textwrap.dedent("""
    import multiprocessing as mp
    import factorio_fast
    mp.set_start_method("spawn", force=True)
    env = factorio_fast.make_vec("movement_micro", 4, num_workers=2, timeout=20)
    print("STEPPED")
    env.close()
""")


def _run(code, tmp_path, how):
    env = {"PYTHONPATH": ":".join(p for p in sys.path if p)}
    import os
    env = dict(os.environ, **env)
    if how == "script":
        path = tmp_path / "train.py"
        path.write_text(code)
        return subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                              timeout=120, cwd=tmp_path, env=env)
    return subprocess.run([sys.executable, "-"], input=code, capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env=env)


def _torchrl_available():
    try:
        import torchrl  # noqa: F401
    except ImportError:
        return False
    return True


CASES = [("", 'mp.set_start_method("spawn", force=True)')]
if _torchrl_available():  # what users hit: torchrl's import switches the start method
    CASES.append(("import torchrl", "pass"))


@pytest.mark.parametrize("preamble,set_method", CASES)
@pytest.mark.parametrize("how", ["script", "stdin"])
def test_spawn_workers_start_from_a_script_and_from_stdin(tmp_path, how, preamble, set_method):
    res = _run(GUARDED.format(preamble=preamble, set_method=set_method), tmp_path, how)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "STEPPED (4, 274)" in res.stdout


def test_spawn_without_the_main_guard_is_a_clear_error(tmp_path):
    res = _run(UNGUARDED, tmp_path, "script")
    assert res.returncode != 0 and "STEPPED" not in res.stdout
    # the trainer's error names the cause and the fix; each worker's own names its class
    assert "factorio_fast.errors.WorkerError" in res.stderr
    assert 'if __name__ == "__main__":' in res.stderr
    assert "factorio_fast.errors.StateError" in res.stderr


def test_spawn_from_stdin_needs_no_guard(tmp_path):
    """A program read on stdin is never imported again by the workers."""
    res = _run(UNGUARDED, tmp_path, "stdin")
    assert res.returncode == 0, res.stderr[-3000:]
    assert "STEPPED" in res.stdout
