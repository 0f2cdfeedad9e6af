"""The ``factorio-fast`` command line: the bench pipeline end to end (tiny blocks, no timing
assertions), the scenario listing and argument errors."""

import json
import multiprocessing as mp
import os

import pytest

from factorio_fast import cli
from factorio_fast.scenarios import SCENARIOS

from conftest import shm_names


def test_scenarios_lists_every_scenario(capsys):
    assert cli.main(["scenarios"]) == 0
    out = capsys.readouterr().out
    for name, t in SCENARIOS.items():
        line = next(ln for ln in out.splitlines() if ln.startswith(name))
        assert f"{t.obs_bytes}" in line and f"{t.target_sps}" in line


def test_bench_writes_table_json_and_plot(tmp_path, capsys):
    path = tmp_path / "r.json"
    rc = cli.main(["bench", "--quick", "--scenario", "movement_micro", "--block-s", "0.004",
                   "--repeats", "1", "--no-progress", "--json", str(path)])
    out = capsys.readouterr().out
    doc = json.loads(path.read_text())
    assert {"machine", "rows"} <= set(doc)
    rows = doc["rows"]
    sim = [r for r in rows if r["backend"] == "sim"]
    # in-process at 1 and 4096 envs, then 1 and 2 workers at 4096
    assert [(r["num_envs"], r["num_workers"]) for r in sim] == [(1, 0), (4096, 0), (4096, 1),
                                                                 (4096, 2)]
    assert {r["backend"] for r in rows} >= {"gymnasium-sync", "gymnasium-async"}
    # the factorio rows, full_game's too, on FACTORIO_PATH or the emulator (factorio-emu)
    fact = [r for r in rows if r["backend"] in ("factorio", "factorio-emu")]
    assert [r["scenario"] for r in fact] == ["movement_micro", "full_game"]
    assert all(r["sps"] > 0 for r in fact) and fact[1]["obs_bytes"] == 1888
    for r in sim:
        assert r["sps"] > 0 and r["obs_bytes"] == SCENARIOS["movement_micro"].obs_bytes
        assert r["passed"] == (r["sps"] >= r["target_sps"])
        assert (r["us_per_handoff"] is None) == (r["num_workers"] == 0)
        assert r["rss_mb"] > 0
        assert (r["shared_bytes"] > 0) == (r["num_workers"] > 0)
    assert rc == (0 if all(r["passed"] for r in sim) else 1)
    assert "PASS" in out or "FAIL" in out
    assert "SyncVectorEnv" in out  # the same-run ratio line
    png = path.with_suffix(".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("argv", [
    ["bench", "--scenario", "no_such_scenario"],
    ["bench", "--block-s", "0"],
    ["bench", "--repeats", "0"],
])
def test_bench_rejects_bad_arguments(argv, capsys):
    assert cli.main(argv) == 2
    assert "factorio-fast bench:" in capsys.readouterr().err


def _create_and_die(conn):
    from factorio_fast._bridge import SharedArena
    a = SharedArena.create(4096)
    conn.send(a.name)
    os.kill(os.getpid(), 9)


def test_reap_dry_run_lists_then_reap_removes_a_dead_owners_segment(capsys):
    ctx = mp.get_context("fork")
    r, w = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_create_and_die, args=(w,))
    p.start()
    assert r.poll(20.0)
    name = r.recv()
    p.join(20.0)
    assert p.exitcode == -9 and name in shm_names()
    assert cli.main(["reap", "--dry-run"]) == 0
    assert f"would remove {name}" in capsys.readouterr().out
    assert name in shm_names()
    assert cli.main(["reap"]) == 0
    assert f"removed {name}" in capsys.readouterr().out
    assert name not in shm_names()
