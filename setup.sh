#!/usr/bin/env bash
# ictal set-up: install what is missing, build, then run the demo or the tests.
#
#   ./setup.sh demo     install + build + run the main job (tools/demo.sh)
#   ./setup.sh test     install + build + run every test (Release, ASan+UBSan, TSan)
#   ./setup.sh build    install + build only
#
# Idempotent: packages already installed are not touched (apt is not even
# called), and the build is incremental (CMake + Ninja rebuild what changed).
#
# Options (after the command):
#   --no-install        never call apt-get; fail if a package is missing
#   --quick             test: Release build only (skip the sanitizer builds)
#   -j N                parallel build jobs (default: number of cores)
set -euo pipefail

cd "$(dirname "$0")"
ROOT=$(pwd)

# Everything the project needs, as Debian package names. Keep in sync with
# cmake/IctalDependencies.cmake and docs/architecture.md.
PACKAGES=(
    build-essential cmake ninja-build pkg-config
    jackd2 libjack-jackd2-dev
    liblo-dev liblo-tools
    libopenblas-dev
    libedf-dev
    libcmocka-dev
    libcjson-dev libinih-dev libsamplerate0-dev
    python3 python3-numpy python3-scipy python3-matplotlib python3-torch
    procps
)

usage() {
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
}

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'setup.sh: %s\n' "$*" >&2; exit 1; }

cmd=${1:-}
[ -n "$cmd" ] || { usage; exit 2; }
shift
install=1
quick=0
jobs=$(nproc 2>/dev/null || echo 2)
while [ $# -gt 0 ]; do
    case $1 in
        --no-install) install=0 ;;
        --quick) quick=1 ;;
        -j) [ $# -ge 2 ] || die "-j needs a number"; jobs=$2; shift ;;
        -j*) jobs=${1#-j} ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown option '$1' (see ./setup.sh --help)" ;;
    esac
    shift
done
case $jobs in ''|*[!0-9]*|0) die "-j wants a positive number of jobs, not '$jobs'" ;; esac

missing_packages() {
    local p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' \
            || printf '%s\n' "$p"
    done
}

install_packages() {
    command -v dpkg-query >/dev/null || die "this set-up needs a Debian-based system (dpkg-query not found)"
    local missing
    missing=$(missing_packages)
    if [ -z "$missing" ]; then
        log "All ${#PACKAGES[@]} Debian packages present"
        return
    fi
    # shellcheck disable=SC2086
    [ "$install" = 1 ] || die "missing Debian packages (and --no-install given): $(echo $missing)"
    local sudo=()
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null || die "missing packages and not root (no sudo): $(echo $missing)"
        sudo=(sudo)
    fi
    log "Installing missing Debian packages: $(echo $missing)"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    # shellcheck disable=SC2086
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends $missing
}

build() {  # build <preset>
    local preset=$1
    log "Configuring and building ($preset)"
    cmake --preset "$preset" >/dev/null
    cmake --build --preset "$preset" -j "$jobs"
}

run_tests() {  # run_tests <preset>
    log "Testing ($1)"
    ctest --preset "$1" -j "$jobs"
}

case $cmd in
    build)
        install_packages
        build release
        ;;
    demo)
        install_packages
        build release
        log "Running the demo"
        exec "$ROOT/tools/demo.sh" "$ROOT/build"
        ;;
    test)
        install_packages
        build release
        run_tests release
        if [ "$quick" = 0 ]; then
            build asan
            run_tests asan
            build tsan
            run_tests tsan
        fi
        log "All test suites passed"
        ;;
    -h|--help|help)
        usage
        ;;
    *)
        die "unknown command '$cmd' (demo, test or build)"
        ;;
esac
