"""Build the compiled core. Switches (environment variables):

FF_DEBUG=1      -O0 -g, assertions on, Cython line tracing off
FF_SANITIZE=1   AddressSanitizer + UndefinedBehaviorSanitizer (run with LD_PRELOAD of libasan)
FF_COVERAGE=1   gcov instrumentation of the C core and Cython line tracing
BOOST_ROOT=DIR  where to find boost/ headers if not in a standard include path
FF_EXTENSIONS=a,b  build only these extension modules (development: parallel in-place builds,
                   e.g. `FF_EXTENSIONS=_sim python setup.py build_ext --inplace -t build/t-sim`)
"""

import os
import sys
from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

HERE = Path(__file__).parent
CSRC = "csrc"


def flag(name):
    return os.environ.get(name, "") not in ("", "0")


def find_boost():
    """Return the include dir holding boost/interprocess, or stop with what to install."""
    candidates = [os.environ.get("BOOST_ROOT", ""), "/usr/include", "/usr/local/include",
                  "/opt/homebrew/include", "/opt/local/include"]
    for root in filter(None, candidates):
        for inc in (Path(root), Path(root) / "include"):
            if (inc / "boost" / "interprocess" / "shared_memory_object.hpp").exists():
                return str(inc)
    sys.exit("factorio_fast: Boost headers not found (boost/interprocess). Install them: "
             "`apt-get install libboost-dev` (Debian/Ubuntu), `dnf install boost-devel` "
             "(Fedora), `brew install boost` (macOS), or set BOOST_ROOT.")


compile_args, link_args, macros = [], [], []
if sys.platform != "win32":
    compile_args += ["-O3", "-fno-strict-aliasing", "-Wall", "-Wno-unused-function"]
    # No debug information (Python's own CFLAGS carry -g): it was 85% of each extension, 9 of the
    # wheel's 11 MB unpacked, and it does not change the code. FF_DEBUG and FF_SANITIZE bring it
    # back (their -g comes later on the command line, and the last one wins).
    compile_args += ["-g0"]
if flag("FF_DEBUG"):
    compile_args += ["-O0", "-g", "-UNDEBUG"]
if flag("FF_SANITIZE"):
    san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g"]
    compile_args += san
    link_args += san
if flag("FF_COVERAGE"):
    compile_args += ["--coverage"]
    link_args += ["--coverage"]
    macros += [("CYTHON_TRACE_NOGIL", "1")]
if sys.platform.startswith("linux"):
    link_args += ["-pthread", "-lrt"]

CORE = ["ff_common.c", "ff_ids.c", "ff_codec.c", "ff_frame.c"]
# module -> (extra C/C++ sources, needs Boost)
EXTENSIONS = {
    "codec": ([], False),
    "_sim": (["ff_world.c", "ff_sim.c"], False),
    "_bridge": (["ff_shm.cpp", "ff_wait.c", "ff_ring.c", "ff_handoff.c"], True),
    "_features": (["ff_features.c"], False),
    "_rawobs": (["ff_rawobs.c"], False),
    "_infos": (["ff_infos.c", "ff_world.c", "ff_sim.c", "ff_features.c"], False),
}

only = set(filter(None, os.environ.get("FF_EXTENSIONS", "").split(",")))
extensions = []
for mod, (sources, boost) in EXTENSIONS.items():
    if only and mod not in only:
        continue
    include = [CSRC] + ([find_boost()] if boost else [])
    srcs = [f"factorio_fast/{mod}.pyx"] + [f"{CSRC}/{s}" for s in CORE + sources]
    extensions.append(Extension(
        f"factorio_fast.{mod}", srcs, include_dirs=include, define_macros=macros,
        extra_compile_args=compile_args, extra_link_args=link_args,
        language="c++" if any(s.endswith(".cpp") for s in sources) else "c"))

# The package and every subpackage that has an __init__.py (found, so a new one cannot be left out
# of a list), and the Factorio mod: its files stay in lua/ in the repository and are installed as
# factorio_fast/mod/ (its files are package data, see pyproject.toml). Runtime code finds them at
# importlib.resources.files("factorio_fast") / "mod", or at lua/ next to the package in a checkout.
PACKAGES = find_packages(where=str(HERE), include=["factorio_fast", "factorio_fast.*"])
MOD_PACKAGE = "factorio_fast.mod"

setup(
    packages=PACKAGES + [MOD_PACKAGE],
    package_dir={MOD_PACKAGE: "lua"},
    ext_modules=cythonize(
        extensions,
        compiler_directives={"language_level": 3, "embedsignature": True,
                             "linetrace": flag("FF_COVERAGE")},
        include_path=["factorio_fast"],
    ),
)
