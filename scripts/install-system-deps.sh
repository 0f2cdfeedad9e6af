#!/usr/bin/env bash
# Install the system packages factorio_fast builds and tests with: Boost headers (shared memory
# via Boost.Interprocess), Lua 5.2 and luacheck (the Factorio mod's files are run and linted).
# Idempotent: does nothing when everything is present.
set -euo pipefail

missing=()
[ -f /usr/include/boost/interprocess/shared_memory_object.hpp ] || [ -n "${BOOST_ROOT:-}" ] || missing+=(libboost-dev)
command -v lua5.2 >/dev/null 2>&1 || missing+=(lua5.2)
command -v luacheck >/dev/null 2>&1 || missing+=(lua-check)
command -v c++ >/dev/null 2>&1 || missing+=(g++)

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "install-system-deps: installing ${missing[*]}"
if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "need root or sudo to install: ${missing[*]}" >&2; exit 1; }
        SUDO=sudo
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
elif command -v brew >/dev/null 2>&1; then
    brew install boost lua@5.2 luacheck || true
else
    echo "install-system-deps: please install Boost headers and Lua 5.2 (${missing[*]})" >&2
    exit 1
fi
