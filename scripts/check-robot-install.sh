#!/usr/bin/env bash
# A robot's install, checked on this machine: a clone of this repository's HEAD built with
# `colcon build --packages-up-to jetson_edge_bringup` (so without jetson_edge_sim and
# jetson_edge_bench), then a Jetson profile's plan started for a while with no hardware and no
# device tree: every node must report on /diagnostics, none may fail on an import, and the sim
# and the bench must be neither importable nor registered.
#
#   scripts/check-robot-install.sh [--profile orin_nano] [--seconds 20] [--workspace DIR]
#                                  [--build-only]
#
# --workspace DIR keeps the clone and its build in DIR; a later call with the same DIR skips
# straight to starting the nodes (a clone already built there is not rebuilt). --build-only
# stops after the build checks.
# Needs scripts/setup.sh run once (its .venv is the Python and, without a distro, the ROS 2).
# vision_msgs is a distro package on a robot: it is taken from the distro where one is sourced,
# else from this workspace's build of third_party/vision_msgs. Takes a few minutes (colcon
# builds jetson_edge_msgs); other users of this machine's ROS graph: set ROS_DOMAIN_ID.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROFILE=orin_nano
RUN_S=20
WORK=""
BUILD_ONLY=0
while (( $# )); do
  case "$1" in
    --profile) PROFILE="$2"; shift 2 ;;
    --seconds) RUN_S="$2"; shift 2 ;;
    --workspace) WORK="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2 ;;
    --build-only) BUILD_ONLY=1; shift ;;
    *) echo "usage: $0 [--profile NAME] [--seconds S] [--workspace DIR] [--build-only]" >&2
       exit 2 ;;
  esac
done
say() { echo "[robot-install] $*" >&2; }

if [[ -z "$WORK" ]]; then
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/jetson_edge_robot_install.XXXXXX")"
  trap 'rm -rf "$WORK"' EXIT
fi

# Nothing of the development workspace may leak in: only the .venv and, for vision_msgs, the
# prefix that provides it.
vision_msgs_prefix=""
for prefix in ${ROS_DISTRO:+/opt/ros/$ROS_DISTRO} "$ROOT/install/vision_msgs"; do
  if [[ -e "$prefix/share/ament_index/resource_index/packages/vision_msgs" ]]; then
    vision_msgs_prefix="$prefix"; break
  fi
done
if [[ -z "$vision_msgs_prefix" ]]; then
  say "no vision_msgs: source a ROS 2 distro that has it, or run scripts/setup.sh first"; exit 1
fi
unset PYTHONPATH AMENT_PREFIX_PATH CMAKE_PREFIX_PATH COLCON_PREFIX_PATH
if [[ -n "${ROS_DISTRO:-}" ]]; then
  set +u; source "/opt/ros/$ROS_DISTRO/setup.bash"; set -u   # a robot's distro
fi
# shellcheck disable=SC1091
source "$ROOT/.venv/bin/activate"
if [[ -z "${ROS_DISTRO:-}" ]]; then
  export AMENT_PREFIX_PATH="$ROOT/.venv" CMAKE_PREFIX_PATH="$ROOT/.venv"
  export RMW_IMPLEMENTATION="${RMW_IMPLEMENTATION:-rmw_fastrtps_cpp}"
  set +u; source "$vision_msgs_prefix/share/vision_msgs/local_setup.bash"; set -u
fi
say "vision_msgs from $vision_msgs_prefix"

if [[ ! -f "$WORK/ws/install/setup.bash" ]]; then
  say "cloning $(git -C "$ROOT" rev-parse --short HEAD) into $WORK/ws"
  rm -rf "$WORK/ws"
  git clone --quiet "$ROOT" "$WORK/ws"
  cd "$WORK/ws"
  say "colcon build --packages-up-to jetson_edge_bringup"
  colcon build --base-paths src --packages-up-to jetson_edge_bringup \
    --cmake-args -DBUILD_TESTING=OFF -DPython3_EXECUTABLE="$(command -v python)" \
    > "$WORK/build.log" 2>&1 \
    || { tail -40 "$WORK/build.log" >&2; say "build failed (log: $WORK/build.log)"; exit 1; }
fi
cd "$WORK/ws"
built="$(ls install | grep '^jetson_edge_' | tr '\n' ' ')"
say "built: $built"
for absent in jetson_edge_sim jetson_edge_bench; do
  if [[ -e "install/$absent" ]]; then say "$absent was built into a robot install"; exit 1; fi
done
if (( BUILD_ONLY )); then exit 0; fi
# local_setup: setup.bash would chain the workspaces that were sourced at build time (for
# vision_msgs, this development workspace, sim and bench included)
set +u; source install/local_setup.bash; set -u
export PATH="$WORK/ws/install/jetson_edge_bringup/lib/jetson_edge_bringup:$PATH"  # jetson-edge
python "$ROOT/scripts/robot_install_probe.py" --profile "$PROFILE" --seconds "$RUN_S"
