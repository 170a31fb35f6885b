#!/usr/bin/env bash
# examples/rig.c against the *installed* library: `cmake --install` into a
# scratch prefix, check what was installed (soname, exported symbols,
# pkg-config, CMake package), build the rig through pkg-config and through
# find_package(kvmlite), and run both builds on the stock Debian kernel with
# a shell initramfs: each must see its marker and the guest's test-exit 7.
# pkg-config output is split into words on purpose.
# shellcheck disable=SC2046,SC2054
source "$(dirname "$0")/lib.sh"

need_cmd pkg-config pkg-config
need_cmd cmake cmake
prefix=$WORK/prefix
cmake --install "$BUILD_DIR" --prefix "$prefix" >"$WORK/install.log" 2>&1 ||
	fail "cmake --install: $(tail -n 3 "$WORK/install.log")"
for f in lib/libkvmlite.so.0 lib/libkvmlite.a include/kvmlite.h bin/kvmlite \
	lib/pkgconfig/kvmlite.pc lib/cmake/kvmlite/kvmliteConfig.cmake \
	lib/cmake/kvmlite/kvmliteConfigVersion.cmake; do
	[[ -e $prefix/$f ]] || fail "not installed: $f"
done
soname=$(objdump -p "$prefix/lib/libkvmlite.so" | awk '/SONAME/ {print $2}')
[[ $soname == libkvmlite.so.0 ]] || fail "soname is '$soname'"
# The shared library exports exactly the KVMLITE_API functions of the header.
# (A declaration may break its line before the name: read it whole.)
api=$(tr '\n' ' ' <"$prefix/include/kvmlite.h" | grep -oE 'KVMLITE_API [^(;]*\(' |
	grep -oE 'kvmlite_[a-z0-9_]+ *\($' | tr -d ' (' | sort)
exported=$(nm -D --defined-only "$prefix/lib/libkvmlite.so" |
	awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort)
[[ $api == "$exported" ]] ||
	fail "exported symbols differ from the API: $(diff <(echo "$api") <(echo "$exported") | grep '^[<>]' | tr '\n' ' ')"
[[ $(wc -l <<<"$api") -ge 15 ]] || fail "too few API functions found: $api"
grep -rq "$SRC_DIR/src" "$prefix/lib/cmake/kvmlite" &&
	fail "the installed CMake package names the source tree"
pass "installed: soname $soname, $(wc -l <<<"$exported") exported symbols = the API"

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
# The version is the header's (CMake reads it from there).
version=$(awk '/^#define KVMLITE_VERSION_(MAJOR|MINOR|PATCH) / {v = v (v == "" ? "" : ".") $3} END {print v}' \
	"$SRC_DIR/include/kvmlite.h")
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ && $(pkg-config --modversion kvmlite) == "$version" ]] ||
	fail "pkg-config --modversion: $(pkg-config --modversion kvmlite)"
[[ $(pkg-config --static --libs kvmlite) == *-ljansson* ]] ||
	fail "pkg-config --static lacks jansson"
[[ $(pkg-config --static --libs kvmlite) == *-lseccomp* ]] ||
	fail "pkg-config --static lacks libseccomp"
# A sanitized tree's library needs the sanitizer runtimes in the program.
san=()
grep -q '^KVMLITE_SANITIZE:BOOL=ON' "$BUILD_DIR/CMakeCache.txt" &&
	san=(-fsanitize=address,undefined)
cc -Wall -Werror "${san[@]}" -o "$WORK/rig_pc" "$SRC_DIR/examples/rig.c" \
	$(pkg-config --cflags --libs kvmlite) -Wl,-rpath,"$prefix/lib" \
	2>"$WORK/cc.log" || fail "cc with pkg-config: $(head -n 5 "$WORK/cc.log")"
cc "${san[@]}" -o "$WORK/rig_pc_static" "$SRC_DIR/examples/rig.c" \
	$(pkg-config --cflags kvmlite) "$prefix/lib/libkvmlite.a" \
	$(pkg-config --static --libs-only-other --libs-only-l kvmlite | sed 's/-lkvmlite//') \
	2>"$WORK/cc.log" || fail "cc static with pkg-config: $(head -n 5 "$WORK/cc.log")"
cmake -S "$SRC_DIR/examples" -B "$WORK/cmake-rig" \
	-DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="${san[*]}" \
	-DCMAKE_EXE_LINKER_FLAGS="${san[*]}" >"$WORK/cmake.log" 2>&1 &&
	cmake --build "$WORK/cmake-rig" >>"$WORK/cmake.log" 2>&1 ||
	fail "find_package build: $(tail -n 5 "$WORK/cmake.log")"
grep -q "$SRC_DIR/include" "$WORK/cmake-rig/CMakeFiles/rig.dir/flags.make" &&
	fail "the find_package build used the source tree's include/"
# (ldd's output in a variable: grep -q would close the pipe early.)
[[ $(ldd "$WORK/rig_pc") == *"libkvmlite.so.0 => $prefix/lib/"* ]] ||
	fail "rig_pc does not use the installed libkvmlite.so.0"
[[ $(ldd "$WORK/cmake-rig/rig") == *"libkvmlite.so.0 => $prefix/lib/"* ]] ||
	fail "the CMake rig does not use the installed libkvmlite.so.0"
if [[ $(ldd "$WORK/cmake-rig/rig_static") == *libkvmlite* ]]; then
	fail "rig_static links libkvmlite.so"
fi
pass "rig built via pkg-config (shared, static) and find_package (shared, static)"

kernel=$(guest_kernel --vmlinux)
"$SRC_DIR/tests/guest/initramfs" --shell -o "$WORK/shell.gz" ||
	fail "cannot build the shell initramfs"
# Both builds in one test host session (each boot is a full Linux boot).
cat >"$WORK/drive.sh" <<DRIVE
#!/bin/sh
for r in rig_pc cmake-rig/rig_static; do
	echo "== \$r"
	"$WORK/\$r" --cmdline "$GUEST_CMDLINE" "$kernel" "$WORK/shell.gz"
	echo "== \$r status=\$?"
done
# The rig must really fail when the guest does not do what it should.
echo "== wrong-exit"
"$WORK/rig_pc" --quiet --cmdline "$GUEST_CMDLINE" --command "echo RIG-OK \\\$((6*7)); test_exit 8" \
	"$kernel" "$WORK/shell.gz"
echo "== wrong-exit status=\$?"
DRIVE
chmod +x "$WORK/drive.sh"
# Three boots in one run: 150 s was seen to end the third, still going.
BOOT_TIMEOUT=400 in_testhost "$WORK/drive.sh"
[[ $rc -eq 0 ]] || fail "drive script status $rc"
for r in rig_pc cmake-rig/rig_static; do
	# The output of one rig: from its header to its status line.
	sed -n "/^== $(sed 's,/,\\/,g' <<<"$r")\$/,/^== .* status=/p" "$WORK/out" >"$WORK/out.$(basename "$r")"
	o=$WORK/out.$(basename "$r")
	grep -q "^RIG: got the prompt" "$o" || fail "$r: no prompt"
	# The rig's lines and the guest's console share stdout and may
	# interleave mid-line: the rig's own report that expect() matched the
	# command's output is the check.
	grep -q "^RIG: saw the marker 'RIG-OK 42'$" "$o" || fail "$r: the command's output is missing"
	grep -q "^RIG-VERDICT: PASS: marker seen, test-exit 7$" "$o" ||
		fail "$r: $(grep RIG-VERDICT "$o")"
	grep -q "^== $r status=0$" "$o" || fail "$r: status $(tail -n 1 "$o")"
	pass "$r: prompt, RIG-OK 42, test-exit 7, status 0"
done
expect_out "^RIG-VERDICT: FAIL: exit reason 3 value 8 \\(status 8\\), wanted test-exit 7"
expect_out "^== wrong-exit status=1$"
pass "wrong test-exit value: verdict FAIL, status 1"
