#!/usr/bin/env python3
"""Check that factorio_fast ships: build the sdist from the repository's files and the wheel from
that sdist (as a release would), in a throwaway directory with a throwaway venv; check what each
one holds; install the wheel in the venv, run it from a directory outside the source tree, check
that the wheel, the package and the mod carry one version, that the compiled extensions need no
library a manylinux system lacks (`auditwheel show`, ldd: no Boost, whose headers are used at
build time only), and run the test suite (the default one, `-m 'not slow'`) against the installed
wheel from the unpacked sdist with its package directory removed, so nothing can be imported
from a source tree.

    python3 tools/check_dist.py [--keep] [--workdir DIR] [--python PYTHON] [--no-suite]
    make check-dist

Needs only a Python 3.9+ with venv, the package index pip is set up with (the build requirements
of pyproject.toml, `build`, and the runtime dependencies are installed into the venv from it), a
C/C++ compiler and the Boost headers. Nothing of an existing venv or in-place build is used: the
source files are copied first (those git tracks or would track, in a checkout).

Exit status 0 when everything holds. Otherwise every problem found is printed and the status is
1; the work directory (venv, build logs, the sdist and the wheel) is then kept for a look.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
NAME = "factorio_fast"

# Repository files that are not part of the source distribution (CI and git settings). Every other
# file of the repository must be in the sdist: a new directory has to be added to MANIFEST.in.
REPO_ONLY = [".gitignore", ".gitattributes", ".ci/*", ".github/*"]
# What must be in the sdist whatever the repository holds (named, so a loss reads clearly).
SDIST_REQUIRED = {
    "LICENSE": "the licence text",
    "README.md": "the readme (the long description)",
    "MANIFEST.in": "the sdist's file list",
    "pyproject.toml": "the build requirements and metadata",
    "setup.py": "the extension build",
    "PKG-INFO": "the metadata",
}
SDIST_KINDS = {  # glob -> what it is; at least one file of each
    f"{NAME}/*.pyx": "Cython sources",
    f"{NAME}/*.pxd": "Cython declarations",
    f"{NAME}/*.pyi": "type stubs",
    "csrc/*.c": "C core sources",
    "csrc/*.h": "C core headers",
    "csrc/tests/*.c": "C unit tests",
    "lua/*.lua": "the Factorio mod",
    "tests/test_*.py": "the Python tests",
    "tests/data/*": "the tests' golden data",
}
# Never in the sdist: build output, and Cython's generated C (the sdist carries the .pyx and
# builds them again; the package directory holds no hand-written C, that is in csrc/).
SDIST_FORBIDDEN = [f"{NAME}/*.c", f"{NAME}/*.cpp", f"{NAME}/*.html", "*.so", "*.pyd", "*.o",
                   "*.pyc", "*/__pycache__/*", "build/*", "dist/*", ".venv/*"]
# Suffixes of files under factorio_fast/ in the sdist that the wheel must carry at the same path.
WHEEL_FROM_SDIST = (".py", ".pyi", ".pxd", "py.typed")
# Sources of the extensions and build output (the .pyx: nothing reads it at run time).
WHEEL_FORBIDDEN = ["*.pyx", "*.c", "*.cpp", "*.h", "*.html", "*.o", "*.pyc"]
COMPILED = re.compile(r"\.(cpython-[^/]*\.so|abi3\.so|so|[^/]*\.pyd)$")

# Run inside the installed venv, from an empty directory: argv[1] is the JSON list of the compiled
# modules, argv[2] that of the mod's files (relative to lua/ in the sdist). Prints one JSON line
# of facts, raises on a problem.
SMOKE = r"""
import importlib, importlib.resources, json, pathlib, sys
import factorio_fast

prefix = pathlib.Path(sys.prefix).resolve()
compiled = [importlib.import_module(name) for name in json.loads(sys.argv[1])]
for module in [factorio_fast] + compiled:
    where = pathlib.Path(module.__file__).resolve()
    if prefix not in where.parents:
        raise SystemExit(f"{module.__name__} was imported from {where}, not from the venv {prefix}")

envs = factorio_fast.make_vec("movement_micro", 4)
try:
    obs, _ = envs.reset(seed=0)
    assert envs.observation_space.contains(obs), "make_vec reset: observation outside its space"
    obs, reward, terminated, truncated, _ = envs.step(envs.action_space.sample())
    assert envs.observation_space.contains(obs), "make_vec step: observation outside its space"
    assert reward.shape == terminated.shape == truncated.shape == (4,), "make_vec step: batch shapes"
finally:
    envs.close()

env = factorio_fast.make("mining_micro")
try:
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs), "make reset: observation outside its space"
    obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
    assert env.observation_space.contains(obs), "make step: observation outside its space"
finally:
    env.close()

mod = importlib.resources.files("factorio_fast") / "mod"
missing = [f for f in json.loads(sys.argv[2]) if not (mod / f).is_file()]
if missing:
    raise SystemExit(f"the installed mod directory {mod} lacks {missing}")
from factorio_fast.emulator.modfiles import mod_dir
if pathlib.Path(mod_dir()).resolve() != pathlib.Path(str(mod)).resolve():
    raise SystemExit(f"mod_dir() finds {mod_dir()}, not the installed mod {mod}")
print(json.dumps({"file": factorio_fast.__file__, "mod": str(mod)}))
"""


class Check:
    """Collects problems, so one run reports all of them rather than the first."""

    def __init__(self):
        self.problems: list[str] = []

    def fail(self, message: str) -> None:
        self.problems.append(message)
        print(f"  PROBLEM: {message}", flush=True)


def step(message: str) -> float:
    print(f"check-dist: {message}", flush=True)
    return time.monotonic()


def run(cmd: list, log: Path, cwd: Path, env: dict) -> None:
    """Run cmd with its output into log; on failure show the log's end and stop."""
    with open(log, "w") as out:
        proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, stdout=out,
                              stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-40:]
        print("\n".join(f"    | {line}" for line in tail))
        raise SystemExit(f"check-dist: FAILED: `{' '.join(map(str, cmd))}` exited with "
                         f"{proc.returncode} (whole log: {log})")


def clean_env() -> dict:
    """The environment without what would make the build or the import use something else:
    PYTHONPATH (a source tree), a venv, and the FF_ build switches (FF_EXTENSIONS would leave
    extensions out, FF_DEBUG/FF_SANITIZE/FF_COVERAGE would build what is not released)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FF_") and k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def source_files() -> list[str]:
    return source_files_of(ROOT)


def source_files_of(root: Path) -> list[str]:
    """The files of the tree ``root``, relative: what git tracks or would track (untracked files
    not ignored) in a checkout; otherwise every file outside build output and caches."""
    try:
        out = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], check=True, capture_output=True).stdout
        return sorted(f for f in out.decode().split("\0") if f and (root / f).is_file())
    except (OSError, subprocess.CalledProcessError):
        pass
    skip_dirs = {".git", "build", "dist", ".venv", "__pycache__", ".hypothesis", ".benchmarks",
                 ".pytest_cache"}
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in skip_dirs and not d.endswith(".egg-info")]
        for f in filenames:
            rel = Path(dirpath, f).relative_to(root).as_posix()
            if not any(fnmatch.fnmatch(rel, p) for p in SDIST_FORBIDDEN):
                files.append(rel)
    return sorted(files)


def build_requires(pyproject: Path) -> list[str]:
    text = pyproject.read_text()
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11: the one list this needs, read plainly
        section = re.search(r"^\[build-system\](.*?)(?=^\[|\Z)", text, re.S | re.M)
        found = re.search(r"requires\s*=\s*\[(.*?)\]", section.group(1) if section else "", re.S)
        return re.findall(r"[\"']([^\"']+)[\"']", found.group(1)) if found else []
    return list(tomllib.loads(text).get("build-system", {}).get("requires", []))


def matches(path: str, patterns) -> bool:
    return any(fnmatch.fnmatch(path, p) for p in patterns)


def check_sdist(check: Check, members: list[str], sources: list[str]) -> None:
    have = set(members)
    for path, what in SDIST_REQUIRED.items():
        if path not in have:
            check.fail(f"sdist lacks {path} ({what})")
    for pattern, what in SDIST_KINDS.items():
        if not any(fnmatch.fnmatch(m, pattern) for m in members):
            check.fail(f"sdist has no {pattern} ({what}): see MANIFEST.in")
    for src in sources:
        if not matches(src, REPO_ONLY) and src not in have:
            check.fail(f"sdist lacks {src}: add it to MANIFEST.in (or, if it is a repository-only "
                       f"file, to REPO_ONLY in tools/check_dist.py)")
    for m in members:
        if matches(m, SDIST_FORBIDDEN):
            check.fail(f"sdist holds {m}, build output or generated code: exclude it in MANIFEST.in")


def check_wheel(check: Check, members: list[str], sdist: list[str], dist_info: str) -> None:
    have = set(members)
    for m in members:
        top = m.split("/", 1)[0]
        if top not in (NAME, dist_info):
            check.fail(f"wheel installs {m} outside {NAME}/ (a stray top-level package or file)")
        if matches(m, WHEEL_FORBIDDEN):
            check.fail(f"wheel holds {m}: generated or build-only (exclude-package-data in "
                       f"pyproject.toml)")
    compiled = [m for m in members if COMPILED.search(m)]
    for src in sdist:
        if src.startswith(f"{NAME}/") and src.endswith(WHEEL_FROM_SDIST) and src not in have:
            package = PurePosixPath(src).parent
            why = (f"is {package}/ a package, with an __init__.py?" if src.endswith(".py")
                   else "is it in package-data of pyproject.toml?")
            check.fail(f"wheel lacks {src} ({why})")
        if src.startswith(f"{NAME}/") and src.endswith(".pyx"):
            stem = src[:-len(".pyx")]
            if not any(m.startswith(stem + ".") for m in compiled):
                check.fail(f"wheel has no compiled extension for {src} (expected {stem}.*.so)")
        if src.startswith("lua/") and f"{NAME}/mod/{src[len('lua/'):]}" not in have:
            check.fail(f"wheel lacks the mod file {src} (as {NAME}/mod/{src[len('lua/'):]})")
    sdist_set = set(sdist)
    for m in members:
        if not m.startswith(f"{NAME}/") or m in compiled:
            continue
        origin = "lua/" + m[len(f"{NAME}/mod/"):] if m.startswith(f"{NAME}/mod/") else m
        if origin not in sdist_set:
            check.fail(f"wheel holds {m}, which is not a file of the sdist")
    if f"{dist_info}/licenses/LICENSE" not in have:
        check.fail(f"wheel lacks {dist_info}/licenses/LICENSE (license-files in pyproject.toml)")


def installed_version_facts(py: Path, outside: Path, env: dict) -> dict:
    """What the installed wheel says its version is: the package, the distribution's metadata
    and the mod's info.json (as installed)."""
    code = ("import importlib.metadata, json, factorio_fast\n"
            "from factorio_fast.emulator.modfiles import mod_version\n"
            "print(json.dumps({'package': factorio_fast.__version__, "
            "'metadata': importlib.metadata.version('factorio_fast'), 'mod': mod_version()}))")
    proc = subprocess.run([str(py), "-I", "-c", code], cwd=outside, env=env, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise SystemExit(f"check-dist: FAILED: reading the installed versions: {proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def check_versions(check: Check, facts: dict, wheel: Path, sdist: Path, pyproject: Path) -> None:
    text = pyproject.read_text()
    found = re.search(r'^\[project\].*?^version\s*=\s*"([^"]+)"', text, re.S | re.M)
    declared = found.group(1) if found else None
    wheel_version = wheel.name.split("-")[1]
    sdist_version = sdist.name[:-len(".tar.gz")].rsplit("-", 1)[-1]
    versions = {"pyproject.toml": declared, "wheel file name": wheel_version,
                "sdist file name": sdist_version, "installed metadata": facts["metadata"],
                "factorio_fast.__version__": facts["package"], "the mod's info.json": facts["mod"]}
    if len(set(versions.values())) != 1:
        check.fail("the versions differ: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    else:
        print(f"  version {declared} everywhere ({', '.join(versions)})")


def check_linkage(check: Check, venv: Path, wheel: Path, work: Path, env: dict) -> None:
    """The Linux wheel: auditwheel reports a manylinux tag, and every extension's shared
    libraries resolve without Boost (header-only at build time)."""
    if not sys.platform.startswith("linux"):
        print("  (not Linux: auditwheel and ldd checks skipped; cibuildwheel's delocate checks macOS)")
        return
    proc = subprocess.run([str(venv / "bin" / "auditwheel"), "show", str(wheel)], cwd=work, env=env,
                          capture_output=True, text=True)
    out = " ".join((proc.stdout + proc.stderr).split())
    tag = re.search(r'platform tag: "(manylinux_[^"]+)"', out)
    if proc.returncode != 0 or not tag:
        check.fail(f"auditwheel show reports no manylinux tag for {wheel.name}: {out[:800]}")
    else:
        print(f"  auditwheel show: consistent with {tag.group(1)}")
    site = next(venv.glob("lib/python*/site-packages"))
    extensions = sorted((site / NAME).glob("*.so"))
    if not extensions:
        check.fail(f"no compiled extension installed under {site / NAME}")
    for so in extensions:
        proc = subprocess.run(["ldd", str(so)], capture_output=True, text=True, env=env)
        libs = proc.stdout
        if proc.returncode != 0 or "not found" in libs:
            check.fail(f"{so.name}: a shared library does not resolve:\n{libs}{proc.stderr}")
        if "boost" in libs.lower():
            check.fail(f"{so.name} links a Boost library at run time (headers only expected):\n{libs}")
    needed = sorted({line.split()[0] for so in extensions for line in subprocess.run(
        ["ldd", str(so)], capture_output=True, text=True, env=env).stdout.splitlines() if line.strip()})
    print(f"  {len(extensions)} extensions; they load {', '.join(needed)}")


def suite_command(py, pytest_args: list) -> list:
    return [str(py), "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_args]


def suite_env(env: dict) -> dict:
    # test_version then requires factorio_fast to come from an installed distribution
    return dict(env, FF_EXPECT_INSTALLED="1")


def run_suite(check: Check, py: Path, sdist: Path, work: Path, env: dict, pytest_args: list) -> None:
    """The test suite of the sdist against the installed wheel: the sdist unpacked, its
    factorio_fast/ removed (the tests import the installed package or fail), run from there."""
    suite = work / "suite"
    with tarfile.open(sdist) as tar:
        base = sdist.name[:-len(".tar.gz")] + "/"
        members = [m for m in tar.getmembers() if m.name.startswith(base) and m.isfile()]
        for m in members:
            m.name = m.name[len(base):]
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(suite, members=members, **safe)
    # Neither the package nor the sdist's build metadata (NAME.egg-info/, which importlib.metadata
    # would find in the working directory before the installed wheel's dist-info).
    shutil.rmtree(suite / NAME)
    for info in suite.glob("*.egg-info"):
        shutil.rmtree(info)
    cmd = suite_command(py, pytest_args)
    print(f"  in {suite}: {' '.join(cmd[1:])}", flush=True)
    log = work / "logs" / "suite.log"
    with open(log, "w") as out:
        proc = subprocess.run(cmd, cwd=suite, env=suite_env(env), stdout=out,
                              stderr=subprocess.STDOUT)
    lines = log.read_text(errors="replace").splitlines()
    summary = next((ln for ln in reversed(lines) if re.search(r"\d+ (passed|failed|error)", ln)), "")
    print(f"  {summary.strip('= ')}")
    if proc.returncode != 0:
        failed = [ln for ln in lines if ln.startswith(("FAILED", "ERROR"))]
        check.fail(f"the test suite fails against the installed wheel (log: {log}):\n    "
                   + "\n    ".join(failed[:30] or lines[-30:]))


def installed_suite(project: Path, pytest_args: list) -> int:
    """--installed-suite: the suite of the source tree ``project`` against the factorio_fast
    installed in this interpreter (cibuildwheel's test step). The tree is copied without its
    package directory into a temporary one and pytest runs there, so only the installed
    package can be imported."""
    project = project.resolve()
    with tempfile.TemporaryDirectory(prefix="ff-wheel-suite-") as tmp:
        suite = Path(tmp)
        for rel in source_files_of(project):
            top = rel.split("/", 1)[0]
            if top != NAME and not top.endswith(".egg-info"):
                (suite / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(project / rel, suite / rel)
        env = suite_env({k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
        cmd = suite_command(sys.executable, pytest_args)
        print(f"check-dist: the suite of {project} against the installed factorio_fast, in {suite}:"
              f" {' '.join(cmd[1:])}", flush=True)
        return subprocess.run(cmd, cwd=suite, env=env).returncode


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter the venv is made from (default: this one)")
    parser.add_argument("--workdir", type=Path,
                        help="where to work (must not exist yet; default: a new temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory on success")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="extensions compiled at once (default: one per CPU)")
    parser.add_argument("--no-suite", action="store_true",
                        help="skip the test suite against the installed wheel")
    parser.add_argument("--installed-suite", metavar="PROJECT", type=Path,
                        help="only run PROJECT's test suite against the factorio_fast installed in "
                             "this interpreter, from a copy of PROJECT without its package "
                             "directory (cibuildwheel's test-command)")
    parser.add_argument("--pytest-args", default="tests",
                        help="what pytest is given in the unpacked sdist (default: %(default)s, "
                             "the default suite as pyproject.toml selects it)")
    args = parser.parse_args(argv)
    if args.installed_suite:
        return installed_suite(args.installed_suite, args.pytest_args.split())

    start = time.monotonic()
    if args.workdir:
        args.workdir.mkdir(parents=True)
        work = args.workdir.resolve()
    else:
        work = Path(tempfile.mkdtemp(prefix="ff-check-dist-")).resolve()
    if ROOT == work or ROOT in work.parents:
        raise SystemExit(f"check-dist: the work directory {work} must be outside the source tree")
    src, dist, venv, outside, logs = (work / d for d in ("src", "dist", "venv", "run", "logs"))
    for d in (dist, outside, logs):
        d.mkdir()
    env = clean_env()
    # The extensions compile in parallel (build_ext's `parallel`); setuptools reads this extra
    # configuration file, so the sdist under test stays as it is.
    (work / "build_ext.cfg").write_text(f"[build_ext]\nparallel = {args.jobs}\n")
    env["DIST_EXTRA_CONFIG"] = str(work / "build_ext.cfg")
    check = Check()
    print(f"check-dist: working in {work}")

    t = step("copying the repository's files (a clean tree, as a fresh clone has)")
    sources = source_files()
    for rel in sources:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, src / rel)
    print(f"  {len(sources)} files ({time.monotonic() - t:.1f} s)")

    t = step(f"making a venv with {args.python} and installing the build requirements")
    run([args.python, "-m", "venv", venv], logs / "venv.log", work, env)
    py = venv / "bin" / "python"
    reqs = build_requires(src / "pyproject.toml")
    run([py, "-m", "pip", "install", *reqs, "build"], logs / "build-deps.log", work, env)
    print(f"  {', '.join(reqs)}, build ({time.monotonic() - t:.1f} s)")

    # Without build isolation: the requirements are in the venv already (and are checked to match
    # pyproject.toml by `build`); `build` given a directory makes the sdist, then the wheel from it.
    t = step("building the sdist, then the wheel from the sdist")
    run([py, "-m", "build", "--no-isolation", "--outdir", dist, src], logs / "build.log", work, env)
    sdists, wheels = sorted(dist.glob("*.tar.gz")), sorted(dist.glob("*.whl"))
    if len(sdists) != 1 or len(wheels) != 1:
        raise SystemExit(f"check-dist: FAILED: expected one sdist and one wheel in {dist}, found "
                         f"{[p.name for p in dist.iterdir()]}")
    sdist, wheel = sdists[0], wheels[0]
    print(f"  {sdist.name}, {wheel.name} ({time.monotonic() - t:.1f} s)")

    step("checking the sdist's files")
    with tarfile.open(sdist) as tar:
        names = [m.name for m in tar.getmembers() if m.isfile()]
    base = sdist.name[:-len(".tar.gz")]
    outside_base = [n for n in names if not n.startswith(base + "/")]
    if outside_base:
        check.fail(f"sdist has files outside {base}/: {outside_base[:5]}")
    sdist_files = sorted(n[len(base) + 1:] for n in names if n.startswith(base + "/"))
    check_sdist(check, sdist_files, sources)

    step("checking the wheel's files")
    with zipfile.ZipFile(wheel) as whl:
        wheel_files = sorted(n for n in whl.namelist() if not n.endswith("/"))
    dist_info = next((n.split("/")[0] for n in wheel_files if n.split("/")[0].endswith(".dist-info")),
                     "")
    check_wheel(check, wheel_files, sdist_files, dist_info)

    t = step("installing the wheel and running it from outside the source tree")
    run([py, "-m", "pip", "install", wheel], logs / "install.log", work, env)
    modules = [COMPILED.sub("", m).replace("/", ".") for m in wheel_files if COMPILED.search(m)]
    mod_files = [f[len("lua/"):] for f in sdist_files if f.startswith("lua/")]
    # -I: isolated mode, so neither the current directory nor PYTHON* variables reach sys.path.
    proc = subprocess.run([str(py), "-I", "-c", SMOKE, json.dumps(modules), json.dumps(mod_files)],
                          cwd=outside, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        check.fail("the installed wheel does not run:\n" + (proc.stdout + proc.stderr).strip())
    else:
        facts = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"  factorio_fast imported from {facts['file']} (and {', '.join(modules)});"
              f" the mod at {facts['mod']}")
        if ROOT in Path(facts["file"]).resolve().parents:
            check.fail(f"factorio_fast was imported from the source tree ({facts['file']})")
        cli = venv / "bin" / "factorio-fast"
        proc = subprocess.run([str(cli), "--help"], cwd=outside, env=env, capture_output=True,
                              text=True)
        if proc.returncode != 0:
            check.fail(f"the console script `factorio-fast --help` failed: {proc.stderr.strip()}")
    print(f"  ({time.monotonic() - t:.1f} s)")

    step("checking the version the sdist, the wheel, the package and the mod share")
    check_versions(check, installed_version_facts(py, outside, env), wheel, sdist,
                   src / "pyproject.toml")

    # The test requirements from the index, as a user running the tests would install them:
    # the wheel's own [test] and [docs] extras (auditwheel comes with [test] on Linux).
    t = step("installing the test requirements (the wheel's [test,docs] extras)")
    run([py, "-m", "pip", "install", f"{wheel}[test,docs]"], logs / "test-deps.log", work, env)
    print(f"  ({time.monotonic() - t:.1f} s)")

    step("checking the extensions' shared libraries (manylinux, no Boost at run time)")
    check_linkage(check, venv, wheel, work, env)

    if not args.no_suite:
        t = step("running the test suite against the installed wheel, outside the source tree")
        run_suite(check, py, sdist, work, env, args.pytest_args.split())
        print(f"  ({time.monotonic() - t:.1f} s)")

    mb = 1024 * 1024
    print(f"check-dist: sdist {sdist.stat().st_size / mb:.2f} MB, {len(sdist_files)} files; "
          f"wheel {wheel.stat().st_size / mb:.2f} MB, {len(wheel_files)} files; "
          f"{time.monotonic() - start:.0f} s in all")
    if check.problems:
        print(f"check-dist: FAILED, {len(check.problems)} problem(s) (kept {work} for a look)")
        return 1
    if args.keep:
        print(f"check-dist: kept {work}")
    else:
        shutil.rmtree(work)
    print("check-dist: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
