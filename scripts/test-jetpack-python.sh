#!/usr/bin/env bash
# Runs every pure-core test (no rclpy) of src/*/test under the robots' Python stack: Python 3.10,
# numpy 1.26, OpenCV 4.8 (scripts/jetpack6-constraints.txt). The venv .venv-py310 is created
# once; it is rebuilt when this script, the constraints, the requirements or a package's setup.py
# change. No colcon: the packages are installed editable (their sources, their entry points: the
# parameter-schema registry), and the configuration is read from the checkout (JETSON_EDGE_CONFIG).
#
#   scripts/test-jetpack-python.sh [pytest args]
#
# Python 3.10 is JETPACK_PYTHON, else python3.10 on PATH, else pyenv's newest 3.10.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv-py310"
MARKER="$VENV/.jetpack-python-done"
CONSTRAINTS=scripts/jetpack6-constraints.txt
REQUIREMENTS=(requirements.txt requirements-test.txt)

is_python310() {
  [[ "$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" == 3.10 ]]
}

find_python() {
  if [[ -n "${JETPACK_PYTHON:-}" ]]; then
    is_python310 "$JETPACK_PYTHON" || { echo "test-jetpack-python: $JETPACK_PYTHON is not Python 3.10" >&2; exit 1; }
    echo "$JETPACK_PYTHON"
    return
  fi
  local candidate
  # pyenv's shims exist for every installed version but may refuse to run: try each.
  for candidate in "$(command -v python3.10 || true)" \
      $(find "${PYENV_ROOT:-$HOME/.pyenv}/versions" -maxdepth 3 -path '*/3.10.*/bin/python' 2>/dev/null | sort -rV); do
    if [[ -n "$candidate" ]] && is_python310 "$candidate"; then
      echo "$candidate"
      return
    fi
  done
  echo "test-jetpack-python: no Python 3.10 (set JETPACK_PYTHON, or install python3.10 or pyenv's 3.10)" >&2
  exit 1
}

PYTHON="$(find_python)"
PACKAGES=(src/*/setup.py)
fingerprint="$( { "$PYTHON" -VV; cat "$0" "$CONSTRAINTS" "${REQUIREMENTS[@]}" "${PACKAGES[@]}"; } \
  | sha256sum | cut -d' ' -f1)"

if [[ "$(cat "$MARKER" 2>/dev/null)" != "$fingerprint" ]]; then
  echo "== creating $VENV with $("$PYTHON" -V) =="
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip packaging
  # The requirements' package names, versions from the constraints (the requirements pin the
  # development environment's newer stack).
  names="$("$VENV/bin/python" - "${REQUIREMENTS[@]}" <<'PY'
import sys
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
for path in sys.argv[1:]:
    for line in open(path):
        line = line.split('#', 1)[0].strip()
        if line and not line.startswith('-'):
            requirement = Requirement(line)
            requirement.specifier = SpecifierSet()
            print(requirement)
PY
  )"
  mapfile -t packages <<< "$names"
  "$VENV/bin/python" -m pip install --quiet --constraint "$CONSTRAINTS" "${packages[@]}" wheel
  editable=()
  for setup in "${PACKAGES[@]}"; do editable+=(-e "$(dirname "$setup")"); done
  "$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation "${editable[@]}"
  echo "$fingerprint" > "$MARKER"
fi

"$VENV/bin/python" -c 'import cv2, numpy, onnxruntime, sys
print(f"== core tests: Python {sys.version.split()[0]}, numpy {numpy.__version__}, OpenCV {cv2.__version__},"
      f" ONNX Runtime {onnxruntime.__version__} ==")'
pythonpath="$ROOT/scripts"
export JETSON_EDGE_CONFIG="$ROOT/config"
# One pytest per package, as colcon runs them (test folders share module names), two at a time
# (JETPACK_TEST_JOBS): these tests start no ROS and bind no fixed port. Logs print in order.
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
run_package() {
  local rc=0
  PYTHONPATH="$pythonpath" "$VENV/bin/python" -m pytest -p core_tests_plugin -p no:cacheprovider -q -rs \
    "$1" "${@:2}" > "$logs/${1//\//_}.log" 2>&1 || rc=$?
  echo "$rc" > "$logs/${1//\//_}.rc"
}
for tests in src/*/test; do
  while (( $(jobs -rp | wc -l) >= ${JETPACK_TEST_JOBS:-2} )); do wait -n; done
  run_package "$tests" "$@" &
done
wait
status=0
for tests in src/*/test; do
  echo "== $tests =="
  cat "$logs/${tests//\//_}.log"
  [[ "$(cat "$logs/${tests//\//_}.rc")" == 0 ]] || status=1
done
exit $status
