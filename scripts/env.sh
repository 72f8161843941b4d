# Source this file for a shell with the suite on PATH:  source scripts/env.sh
# (run scripts/setup.sh once first; scripts/run-sim.sh and scripts/test.sh do that for you)
_je_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
# shellcheck disable=SC1091
source "$_je_root/.venv/bin/activate"
if [[ -z "${ROS_DISTRO:-}" ]]; then
  export AMENT_PREFIX_PATH="$_je_root/.venv${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
  export CMAKE_PREFIX_PATH="$_je_root/.venv${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  export RMW_IMPLEMENTATION="${RMW_IMPLEMENTATION:-rmw_fastrtps_cpp}"
fi
# shellcheck disable=SC1091
source "$_je_root/install/setup.bash"
export PATH="$_je_root/install/jetson_edge_bringup/lib/jetson_edge_bringup:$PATH"
unset _je_root
