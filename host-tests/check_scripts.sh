#!/usr/bin/env bash
# The README's scripts answer --help and refuse bad arguments without
# building anything: ninja, meson, apt-get, dpkg-query and sudo are replaced
# by stubs that record being called, and every case here must leave that
# record empty. boot.sh's list of erix-boot options must match erix-boot's
# own --help (the list lets boot.sh refuse a typo before a build). In a
# copy of the scripts with stub tools, a failing build or meson setup
# shows the tool's own output, and a good one its progress.
#
# usage: check_scripts.sh SOURCE_ROOT ERIX_BOOT
set -uo pipefail
root=$1
erix_boot=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/bin"
for tool in ninja meson apt-get dpkg-query sudo; do
  printf '#!/bin/sh\necho "%s $*" >> "%s/called"\nexit 1\n' "$tool" "$work" > "$work/bin/$tool"
  chmod +x "$work/bin/$tool"
done
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect EXIT SCRIPT ARGS...: runs the script; checks its exit status and
# that no build tool ran. Leaves stdout and stderr in $work/out, $work/err.
expect() {
  local want=$1 script=$2; shift 2
  rm -f "$work/called"
  (cd "$work" && PATH="$work/bin:$PATH" "$root/scripts/$script" "$@" >"$work/out" 2>"$work/err")
  local got=$?
  [ "$got" -eq "$want" ] || fail "$script $*: exit $got, expected $want (stderr: $(head -c 300 "$work/err"))"
  [ ! -s "$work/called" ] || fail "$script $*: ran a build tool: $(cat "$work/called")"
}

for script in boot.sh test.sh setup.sh image-report.sh tidy.sh; do
  for help in --help -h; do
    expect 0 "$script" "$help"
    head -n 1 "$work/out" | grep -q "^usage: ./scripts/$script" || fail "$script $help: stdout does not start with its usage line"
    [ ! -s "$work/err" ] || fail "$script $help: wrote to stderr: $(cat "$work/err")"
  done
  expect 2 "$script" --no-such-option
  grep -q -- "--no-such-option" "$work/err" || fail "$script --no-such-option: stderr does not name the option"
  [ ! -s "$work/out" ] || fail "$script --no-such-option: wrote to stdout"
done
for script in test.sh setup.sh tidy.sh; do
  expect 2 "$script" extra-word
  grep -q "extra-word" "$work/err" || fail "$script extra-word: stderr does not name the argument"
done

# boot.sh: a value option without its value; an unknown --opt=value.
expect 2 boot.sh --fault
grep -q -- "--fault needs a value" "$work/err" || fail "boot.sh --fault: no 'needs a value' message"
expect 2 boot.sh --tarce=x.json
grep -q -- "--tarce" "$work/err" || fail "boot.sh --tarce=x.json: stderr does not name the option"

# image-report.sh: a missing config and a directory, each named once.
missing="$work/no-such-dir/x.toml"
expect 2 image-report.sh "$missing"
[ "$(grep -o -F "$missing" "$work/err" | wc -l)" -eq 1 ] || fail "image-report.sh: missing file not named exactly once: $(cat "$work/err")"
expect 2 image-report.sh "$root/examples"
grep -q "is a directory" "$work/err" || fail "image-report.sh DIR: no 'is a directory' message: $(cat "$work/err")"

# boot.sh's option lists against erix-boot --help: "  --name VALUE  text"
# takes a value, "  --name  text" does not.
help=$("$erix_boot" --help)
from_help() {  # $1 = 1 for options taking a value, 0 for flags
  printf '%s\n' "$help" | awk -v want="$1" '
    $1 ~ /^--/ && $1 != "--help" { value = ($2 ~ /^[A-Z][A-Z:=_]*$/) ? 1 : 0; if (value == want) print $1 }' | sort
}
from_script() {  # $1 = VALUE_OPTIONS or FLAG_OPTIONS
  sed -n "s/^$1=(\(.*\))\$/\1/p" "$root/scripts/boot.sh" | tr ' ' '\n' | sort
}
[ "$(from_help 1)" = "$(from_script VALUE_OPTIONS)" ] ||
  fail "boot.sh VALUE_OPTIONS differ from erix-boot --help: help has [$(from_help 1 | tr "\n" " ")], boot.sh [$(from_script VALUE_OPTIONS | tr "\n" " ")]"
[ "$(from_help 0)" = "$(from_script FLAG_OPTIONS)" ] ||
  fail "boot.sh FLAG_OPTIONS differ from erix-boot --help: help has [$(from_help 0 | tr "\n" " ")], boot.sh [$(from_script FLAG_OPTIONS | tr "\n" " ")]"
[ -n "$(from_help 1)" ] && [ -n "$(from_help 0)" ] || fail "no options found in erix-boot --help"

# What a build says, in a copy of the scripts with stub tools: dpkg-query
# reports every package installed (or none: DPKG_MISSING), apt-get fails,
# ninja plays a build that has work, has none or fails (NINJA_MODE), meson
# setup fails, and build/sim/erix-boot echoes its arguments.
fake=$work/fake
mkdir -p "$fake/scripts" "$fake/build/sim" "$work/fakebin"
cp "$root"/scripts/*.sh "$fake/scripts/"
printf '#!/bin/sh\necho "summary: status=READY args=$*"\n' > "$fake/build/sim/erix-boot"
printf '#!/bin/sh\n[ -n "$DPKG_MISSING" ] || printf "install ok installed"\n' > "$work/fakebin/dpkg-query"
printf '#!/bin/sh\necho "E: stub apt-get failure ($*)"\nexit 100\n' > "$work/fakebin/apt-get"
printf '#!/bin/sh\nexec "$@"\n' > "$work/fakebin/sudo"
cat > "$work/fakebin/ninja" <<'NINJA'
#!/bin/sh
case " $* " in
  *" -n "*) [ "$NINJA_MODE" = none ] && echo "ninja: no work to do." || printf '[1/2] a.o\n[2/2] erix-boot\n'
            exit 0 ;;
esac
case "$NINJA_MODE" in
  ok) printf '[1/2] Compiling C++ object a.o\n[2/2] Linking target erix-boot\n' ;;
  fail) printf '[1/2] Compiling C++ object a.o\nFAILED: a.o\na.cpp:1:14: error: expected primary-expression\nninja: build stopped\n'
        exit 1 ;;
esac
NINJA
printf '#!/bin/sh
echo "meson.build:1:0: ERROR: stub meson failure"
exit 1
' > "$work/fakebin/meson"
chmod +x "$fake/build/sim/erix-boot" "$work/fakebin"/*
fake_boot() {  # NINJA_MODE ARGS...
  local mode=$1; shift
  (cd "$work" && NINJA_MODE=$mode PATH="$work/fakebin:$PATH" "$fake/scripts/boot.sh" "$@" >"$work/out" 2>"$work/err")
}
touch "$fake/build/build.ninja"
fake_boot fail; got=$?
[ "$got" -eq 1 ] || fail "failing build: boot.sh exit $got, expected 1"
grep -q "^building build/ (about 2 min the first time)" "$work/err" || fail "failing build: no 'building' line: $(cat "$work/err")"
grep -q "a.cpp:1:14: error: expected primary-expression" "$work/err" || fail "failing build: the compiler's error is not shown: $(cat "$work/err")"
[ ! -s "$work/out" ] || fail "failing build: erix-boot ran anyway: $(cat "$work/out")"
fake_boot ok --audit; got=$?
[ "$got" -eq 0 ] || fail "good build: boot.sh exit $got: $(cat "$work/err")"
[ "$(cat "$work/out")" = "summary: status=READY args=--audit" ] || fail "good build: stdout is $(cat "$work/out")"
grep -q "^\[2/2\] Linking target erix-boot" "$work/err" || fail "good build: no progress lines: $(cat "$work/err")"
grep -q "expected primary" "$work/err" && fail "good build: printed a failure log"
fake_boot none; got=$?
[ "$got" -eq 0 ] && [ ! -s "$work/err" ] || fail "nothing to build: exit $got, stderr: $(cat "$work/err")"
rm "$fake/build/build.ninja"
fake_boot ok; got=$?
[ "$got" -eq 1 ] || fail "failing meson setup: boot.sh exit $got, expected 1"
grep -q "stub meson failure" "$work/err" || fail "failing meson setup: meson's output is not shown: $(cat "$work/err")"

# A failing package installation shows apt-get's own words.
(cd "$work" && DPKG_MISSING=1 NINJA_MODE=ok PATH="$work/fakebin:$PATH" "$fake/scripts/boot.sh" >"$work/out" 2>"$work/err"); got=$?
[ "$got" -eq 100 ] || fail "failing apt-get: boot.sh exit $got, expected 100"
grep -q "E: stub apt-get failure" "$work/err" || fail "failing apt-get: its output is not shown: $(cat "$work/err")"

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "scripts: --help, bad arguments and boot.sh's option list all as expected"
