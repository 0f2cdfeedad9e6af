"""``factorio-fast mod``: where the installed mod is, and the zip a server's mods/ folder takes."""

import json
import zipfile

import pytest

from factorio_fast import cli
from factorio_fast.emulator import modfiles


def test_mod_cli_path_prints_the_mods_folder(capsys):
    assert cli.main(["mod", "--path"]) == 0
    out = capsys.readouterr().out.strip()
    assert out == str(modfiles.mod_dir())
    assert json.loads((modfiles.mod_dir() / "info.json").read_text())["name"] == "factorio_fast"


def test_mod_cli_zip_holds_the_mod_in_its_versioned_folder(tmp_path, capsys):
    target = tmp_path / "mods"
    assert cli.main(["mod", "--zip", str(target)]) == 0
    version = modfiles.mod_version()
    path = target / f"factorio_fast_{version}.zip"
    assert capsys.readouterr().out.strip() == str(path)
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        top = f"factorio_fast_{version}/"
        assert all(n.startswith(top) for n in names)
        lua = {p.name for p in modfiles.mod_dir().glob("*.lua")}
        assert {n[len(top):] for n in names} == lua | {"info.json"}
        assert json.loads(z.read(top + "info.json")) == modfiles.mod_info()
        z.extractall(tmp_path / "x")
    # the zipped mod is the mod: it runs in the emulator
    pytest.importorskip("lupa.lua52")
    from factorio_fast.emulator.game import Emulator
    emu = Emulator(tmp_path / "x" / f"factorio_fast_{version}")
    assert "ff" in emu._commands


def test_mod_cli_refuses_a_file_as_the_zip_folder(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("")
    assert cli.main(["mod", "--zip", str(f)]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_mod_cli_needs_path_or_zip():
    with pytest.raises(SystemExit):
        cli.main(["mod"])
