#!/usr/bin/env bash
# The Python package's tests (ctest: python/pytest): the pytest suite
# against the stub guests in BUILD_DIR, in the venv $KVMLITE_PYTHON_VENV
# (ctest's python/install makes it first, with tests/python/install.sh),
# else in one installed here.
# Usage: tests/python/run.sh BUILD_DIR [pytest args...]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$1" && pwd)
shift
[[ -r /dev/kvm && -w /dev/kvm ]] || { echo "SKIP: no usable /dev/kvm"; exit 77; }
venv=${KVMLITE_PYTHON_VENV:-}
if [[ -z $venv ]]; then
	"$src/tests/python/install.sh" "$build"
	venv=$build/python-venv
fi
[[ -x $venv/bin/python ]] || { echo "FAIL: no venv at $venv (python/install failed?)"; exit 1; }
cd "$build"
exec "$venv/bin/python" -m pytest -p no:cacheprovider -v "$src/tests/python" \
	--stub-dir "$build" --rig "$src/examples/rig.py" "$@"
