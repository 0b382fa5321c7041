#!/usr/bin/env bash
# The install target and pkg-config file work: install into a scratch prefix,
# then compile and run a program against libictal using only pkg-config.
set -euo pipefail
build=$1
# In sanitizer builds libictal is instrumented, so the consumer must link the
# same runtime: the test passes those flags as its second argument.
san_flags=${2:-}
tmp=${ICTAL_TEST_TMPDIR:?}/install
rm -rf "$tmp"
mkdir -p "$tmp"
cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log"

pcdir=$(dirname "$(find "$tmp/prefix" -name ictal.pc | head -n 1)")
[ -f "$pcdir/ictal.pc" ] || { echo "ictal.pc not installed" >&2; exit 1; }
export PKG_CONFIG_PATH=$pcdir
version=$(pkg-config --modversion ictal)

cat >"$tmp/consumer.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <ictal/error.h>
#include <ictal/version.h>
int main(void)
{
    struct ictal_error err;
    ictal_error_set(&err, ICTAL_EFORMAT, "consumer %s", ICTAL_VERSION_STRING);
    printf("%s|%s\n", ictal_strerror(err.code), err.msg);
    return strcmp(ictal_strerror(ICTAL_EFORMAT), "malformed file") != 0;
}
C
# shellcheck disable=SC2046
# shellcheck disable=SC2086
cc -std=c11 -Wall -Werror $san_flags -o "$tmp/consumer" "$tmp/consumer.c" \
   $(pkg-config --cflags ictal) $(pkg-config --static --libs ictal)
out=$("$tmp/consumer")
expected="malformed file|consumer $version"
if [ "$out" != "$expected" ]; then
    echo "consumer printed '$out', expected '$expected'" >&2
    exit 1
fi
echo "installed libictal $version links and runs through pkg-config"
