#!/usr/bin/env bash
# The Python package's tests (ctest: python/pytest): install ./python into a
# fresh venv of Debian's python3 offline, as a user would, then run the
# pytest suite against the stub guests in BUILD_DIR.
# Usage: tests/python/run.sh BUILD_DIR [pytest args...]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$1" && pwd)
shift
[[ -r /dev/kvm && -w /dev/kvm ]] || { echo "SKIP: no usable /dev/kvm"; exit 77; }
venv=$build/python-venv
rm -rf "$venv"
/usr/bin/python3 -m venv --system-site-packages "$venv"
# --no-index: nothing may come from a package index.
(cd "$src" && "$venv/bin/pip" install -q --no-index --no-build-isolation ./python) \
	>"$build/python-pip.log" 2>&1 || {
	tail -n 30 "$build/python-pip.log"
	echo "FAIL: pip install ./python (log: $build/python-pip.log)"
	exit 1
}
cd "$build"
exec "$venv/bin/python" -m pytest -p no:cacheprovider -v "$src/tests/python" \
	--stub-dir "$build" "$@"
