#!/usr/bin/env bash
# The hardening flags (CMakeLists.txt) as the binaries show them, with
# readelf: the kvmlite command and libkvmlite.so are position-independent
# (ELF type DYN), have full RELRO (a GNU_RELRO segment and BIND_NOW), a
# non-executable stack, and use the stack protector and, in optimized
# builds, _FORTIFY_SOURCE's checked calls.
#
#	hardening.sh KVMLITE LIBKVMLITE_SO FORTIFY LINK
#
# FORTIFY: the _FORTIFY_SOURCE level built with (0: none, as in Debug and
# sanitizer builds: the fortify checks are skipped, and say so). LINK:
# "static" (the release command: a static PIE, no interpreter, no
# libraries) or "dynamic" (the sanitizer build's command).
#
# A static binary carries the C library's own __stack_chk_fail and some
# __*_chk functions whatever kvmlite's flags, so for it the symbols alone
# prove little: where it has debug information (the default
# RelWithDebInfo and Debug builds), every compilation unit's
# DW_AT_producer must list the flags, and with FORTIFY the line tables
# must name glibc's fortified headers. The shared library's undefined
# dynamic symbols are its own objects' references.
set -euo pipefail
kvmlite=$1 lib=$2 fortify=$3 link=$4
command -v readelf >/dev/null || { echo "FAIL: hardening: readelf (binutils) is missing" >&2; exit 1; }
failed=0
fail() {
	echo "FAIL: hardening: $*" >&2
	failed=1
}

# (readelf's output is kept in variables: grep -q on a pipe would end
# readelf with SIGPIPE, and pipefail would count that as a failure.)
check_common() { # file
	local f=$1 name header segments dynamic stack
	name=$(basename "$f")
	header=$(readelf -hW "$f")
	segments=$(readelf -lW "$f")
	dynamic=$(readelf -dW "$f")
	grep -Eq '^ *Type: +DYN ' <<<"$header" || fail "$name: ELF type is not DYN (not PIE)"
	grep -q '^ *GNU_RELRO ' <<<"$segments" || fail "$name: no GNU_RELRO segment"
	grep -Eq '\(FLAGS\) +.*BIND_NOW|\(FLAGS_1\) +Flags:.* NOW' <<<"$dynamic" ||
		fail "$name: not linked with -z now (no BIND_NOW / FLAGS_1 NOW)"
	stack=$(awk '$1 == "GNU_STACK" { print $7 }' <<<"$segments")
	[[ -n $stack ]] || fail "$name: no GNU_STACK segment (the stack would be executable)"
	[[ $stack != *E* ]] || fail "$name: executable stack (GNU_STACK $stack)"
}

# Flags that every compilation unit of kvmlite's own sources (under $src;
# not the sanitizer runtimes' units linked in) with debug information
# must list.
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
check_producers() { # file
	local f=$1 name info producers n lines
	name=$(basename "$f")
	info=$(readelf --debug-dump=info "$f" 2>/dev/null)
	# A unit's DIE: DW_AT_producer, then DW_AT_name (its source file).
	producers=$(awk -v src="$src/" '
		/DW_AT_producer/ { p = $0; sub(/.*\): /, "", p); want = 1; next }
		/DW_AT_name/ && want {
			f = $0; sub(/.*\): /, "", f); want = 0
			if (index(f, src) == 1) print p
		}' <<<"$info")
	if [[ -z $producers ]]; then
		echo "note: $name has no debug information for $src: compiler flags not checked per unit"
		return
	fi
	# GCC records its options there (-grecord-gcc-switches, its
	# default); clang does not.
	if ! grep -q '^GNU ' <<<"$producers"; then
		echo "note: $name was not built by GCC: compiler flags not checked per unit"
		return
	fi
	n=$(wc -l <<<"$producers")
	local before=$failed
	failed=0
	for flag in -fstack-protector-strong -fstack-clash-protection -fcf-protection; do
		if grep -qv -e "$flag" <<<"$producers"; then
			fail "$name: $(grep -cv -e "$flag" <<<"$producers") of $n compilation units built without $flag"
		fi
	done
	if ((fortify)); then
		lines=$(readelf --debug-dump=line "$f" 2>/dev/null)
		grep -Eq 'string_fortified\.h|stdio2\.h' <<<"$lines" ||
			fail "$name: no compilation unit used glibc's fortified headers (_FORTIFY_SOURCE off?)"
	fi
	((failed)) || echo "ok: $name: all $n compilation units with -fstack-protector-strong -fstack-clash-protection -fcf-protection"
	((failed |= before)) || true
}

# libkvmlite.so: its undefined dynamic symbols are what its objects call.
check_common "$lib"
dyn=$(readelf --dyn-syms -W "$lib" | awk '$7 == "UND" { sub(/@.*/, "", $8); print $8 }')
grep -qx __stack_chk_fail <<<"$dyn" || fail "$(basename "$lib"): no reference to __stack_chk_fail (no stack protector)"
if ((fortify)); then
	grep -Eq '^__[a-z]+_chk$' <<<"$(grep -vx __stack_chk_fail <<<"$dyn")" ||
		fail "$(basename "$lib"): no __*_chk call (_FORTIFY_SOURCE=$fortify had no effect)"
fi
check_producers "$lib"

# The command.
check_common "$kvmlite"
syms=$(readelf -sW "$kvmlite" | awk '{ sub(/@.*/, "", $8); print $8 }')
grep -qx __stack_chk_fail <<<"$syms" || fail "kvmlite: no __stack_chk_fail symbol"
if ((fortify)); then
	grep -Eq '^__[a-z]+_chk$' <<<"$(grep -vx __stack_chk_fail <<<"$syms")" ||
		fail "kvmlite: no __*_chk symbol (_FORTIFY_SOURCE=$fortify had no effect)"
fi
case $link in
static)
	! grep -q '^ *INTERP ' <<<"$(readelf -lW "$kvmlite")" || fail "kvmlite: has an interpreter (not a static PIE)"
	! grep -q '(NEEDED)' <<<"$(readelf -dW "$kvmlite")" || fail "kvmlite: needs shared libraries (not a static PIE)"
	;;
dynamic) ;;
*) fail "unknown LINK '$link'" ;;
esac
check_producers "$kvmlite"

if ((failed)); then
	exit 1
fi
if ((fortify)); then
	echo "PASS: hardening: kvmlite ($link PIE) and $(basename "$lib"): PIE, full RELRO, non-executable stack, stack protector, _FORTIFY_SOURCE=$fortify"
else
	echo "PASS: hardening: kvmlite ($link PIE) and $(basename "$lib"): PIE, full RELRO, non-executable stack, stack protector (no _FORTIFY_SOURCE in this build: not checked)"
fi
