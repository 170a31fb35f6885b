#!/usr/bin/env bash
# Install the Python package as a user would (ctest: python/install, the
# fixture of python/pytest and boot/test_python): `pip install ./python`
# offline into a fresh venv of Debian's python3, BUILD_DIR/python-venv.
# Usage: tests/python/install.sh BUILD_DIR
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$1" && pwd)
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
"$venv/bin/python" -c 'import kvmlite; print("installed kvmlite", kvmlite.__version__, "in '"$venv"'")'
