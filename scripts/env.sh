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
# The suite's Fast DDS transport (whole scans and frames over shared memory) for every process
# of this shell, `ros2 topic echo` included; nodes set it themselves where it is unset.
if [[ "${RMW_IMPLEMENTATION:-rmw_fastrtps_cpp}" == rmw_fastrtps_cpp && -z "${FASTDDS_BUILTIN_TRANSPORTS:-}" ]]; then
  export FASTRTPS_DEFAULT_PROFILES_FILE="${FASTRTPS_DEFAULT_PROFILES_FILE:-$_je_root/src/jetson_edge_common/jetson_edge_common/fastdds_large_data.xml}"
  export RMW_FASTRTPS_USE_QOS_FROM_XML="${RMW_FASTRTPS_USE_QOS_FROM_XML:-1}"  # its reader memory policy
fi
unset _je_root
