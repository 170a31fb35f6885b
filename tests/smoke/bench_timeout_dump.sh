#!/usr/bin/env bash
# bench/lib/vmm.py: a kvmlite run that outlives its timeout leaves its
# state dump in the run's output (SIGUSR1 before the kill), so a bench
# run that stalls is attributable, like a boot test's.
set -euo pipefail
src=$1 kvmlite=$2 hang_stub=$3
if [[ ! -r /dev/kvm || ! -w /dev/kvm ]]; then
	echo "SKIP: bench_timeout_dump: /dev/kvm is not usable here" >&2
	exit 77
fi
out=$(python3 - "$src/bench/lib" "$kvmlite" "$hang_stub" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import vmm
out, rc, _ = vmm.run([sys.argv[2], "run", "--kernel", sys.argv[3],
                      "--cpus", "2"], 2)
print(f"STATUS {rc}")
print(out)
PY
)
grep -qx 'STATUS timeout' <<<"$out" || { echo "FAIL: not a timeout: $out" >&2; exit 1; }
for re in '^kvmlite: dump: vm: .*exit=running ' '^kvmlite: dump: vcpu0: read .* mp_state=halted' \
	'^kvmlite: dump: vcpu1: '; do
	grep -Eq -- "$re" <<<"$out" || { echo "FAIL: no line /$re/ in the output:" >&2; echo "$out" >&2; exit 1; }
done
echo "PASS: a kvmlite bench run past its timeout keeps its state dump"
