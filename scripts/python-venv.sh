#!/usr/bin/env bash
# Makes the Python environment the binding tests use (tests/python_binding.rs):
# a virtual environment of Debian's python3 under target/pyvenv, with pymosquitto
# and pytest from PyPI at the versions pinned here. Safe to run again: it does
# nothing when the environment already has them.
#
# pymosquitto loads the library by name ("libmosquitto.so.1", through ctypes), so
# LD_LIBRARY_PATH decides which libmosquitto it gets; the tests check which.
#
# Usage: scripts/python-venv.sh        (prints the environment's python on stdout)
set -euo pipefail

PYMOSQUITTO_VERSION=0.4.1
PYTEST_VERSION=8.3.5

root=$(cd "$(dirname "$0")/.." && pwd)
venv=${SKEETER_PYVENV:-$root/target/pyvenv}
python=$venv/bin/python

wanted_installed() {
  [ -x "$python" ] && "$python" - "$PYMOSQUITTO_VERSION" "$PYTEST_VERSION" <<'EOF' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if (version("pymosquitto"), version("pytest")) == tuple(sys.argv[1:]) else 1)
EOF
}

if wanted_installed; then
  echo "$python"
  exit 0
fi

# Debian's python3 makes environments only with python3-venv (ensurepip) installed.
if ! dpkg -s python3-venv >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "python-venv: python3-venv is missing: run as root: apt-get install python3-venv" >&2
    exit 1
  fi
  echo "python-venv: installing python3-venv" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-venv >&2
fi

[ -x "$python" ] || /usr/bin/python3 -m venv "$venv" >&2
"$python" -m pip install -q --disable-pip-version-check \
  "pymosquitto==$PYMOSQUITTO_VERSION" "pytest==$PYTEST_VERSION" >&2
wanted_installed || { echo "python-venv: pymosquitto or pytest did not install" >&2; exit 1; }
echo "$python"
