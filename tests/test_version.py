"""One version for everything that ships: the package (``factorio_fast.__version__``), the wheel's
metadata (``[project] version`` of pyproject.toml), the Factorio mod (``info.json`` and the name of
its zip), the changelog's latest release and the docs site (which reads ``__version__``)."""

import importlib.metadata
import json
import os
import pathlib
import re
import zipfile

import pytest

import factorio_fast
from factorio_fast.emulator import modfiles

VERSION = factorio_fast.__version__
# PEP 440's public version form (release, optional pre/post/dev), without local labels: what an
# index accepts and what Factorio's info.json needs as three dotted numbers for a release.
PEP440 = re.compile(r"^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?$")


def _pyproject_version(path: pathlib.Path) -> str:
    text = path.read_text(encoding="utf-8")
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11: the one key needed, read plainly
        section = re.search(r"^\[project\](.*?)(?=^\[|\Z)", text, re.S | re.M)
        return re.search(r'^version\s*=\s*"([^"]+)"', section.group(1), re.M).group(1)
    project = tomllib.loads(text)["project"]
    assert "version" in project, "pyproject.toml: [project] version is not static"
    return project["version"]


def test_version_is_a_release_version():
    assert PEP440.match(VERSION), VERSION
    # Factorio parses a mod's version as three numbers (major.minor.sub), so the mod can carry
    # the package's version only if it has that form.
    assert re.fullmatch(r"\d+\.\d+\.\d+", VERSION), VERSION


def test_version_pyproject_equals_the_package(repo_root):
    assert _pyproject_version(repo_root / "pyproject.toml") == VERSION


def test_version_mod_info_equals_the_package(repo_root):
    assert modfiles.mod_version() == VERSION
    # the repository's copy too (the wheel's mod is made from it)
    assert json.loads((repo_root / "lua" / "info.json").read_text())["version"] == VERSION


def test_version_mod_zip_is_named_after_it(tmp_path):
    path = modfiles.write_zip(tmp_path)
    assert path.name == f"factorio_fast_{VERSION}.zip"
    with zipfile.ZipFile(path) as z:
        info = json.loads(z.read(f"factorio_fast_{VERSION}/info.json"))
    assert info["version"] == VERSION


def test_version_changelog_has_it_as_the_latest_release(repo_root):
    text = (repo_root / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = re.findall(r"^## \[(\d[^\]]*)\] - (\d{4}-\d{2}-\d{2})$", text, re.M)
    assert releases, "CHANGELOG.md has no '## [x.y.z] - YYYY-MM-DD' release heading"
    assert releases[0][0] == VERSION, f"latest release in CHANGELOG.md is {releases[0][0]}"
    # newest first, each version once, dates not going backwards down the file
    assert len({v for v, _ in releases}) == len(releases)
    dates = [d for _, d in releases]
    assert dates == sorted(dates, reverse=True)


def _installed_distribution():
    """The distribution this factorio_fast was imported from, if it is a regular install (a
    wheel); None for a source tree or an editable install, whose metadata is not rewritten
    when the version changes."""
    here = pathlib.Path(factorio_fast.__file__).resolve()
    # every distribution of the name on sys.path (a source tree's egg-info may come first)
    for dist in importlib.metadata.distributions(name="factorio_fast"):
        for f in dist.files or ():
            if f.name == "__init__.py" and f.parent.as_posix() == "factorio_fast":
                if pathlib.Path(dist.locate_file(f)).resolve() == here:
                    return dist
    return None


def test_version_installed_metadata_equals_the_package():
    dist = _installed_distribution()
    # make check-dist sets FF_EXPECT_INSTALLED=1 when it runs the suite against the wheel
    assert dist is not None or not os.environ.get("FF_EXPECT_INSTALLED"), \
        f"factorio_fast was imported from {factorio_fast.__file__}, not from an installed wheel"
    if dist is None:
        pytest.skip("factorio_fast is imported from a source tree or an editable install "
                    "(make check-dist runs this against the installed wheel)")
    assert dist.version == VERSION
