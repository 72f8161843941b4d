#!/usr/bin/env bash
# Entry point of the Jetson image: the ROS distro, then the suite's workspace, then the command.
#   docker run ... jetson_edge:jazzy jetson-edge up --profile orin_nano --only lidar
set -eo pipefail
# shellcheck disable=SC1090
source "/opt/ros/${ROS_DISTRO:?ROS_DISTRO is not set in this image}/setup.bash"
# shellcheck disable=SC1091
source /opt/jetson_edge/install/setup.bash
# The jetson-edge command is a console script of jetson_edge_bringup, installed beside its nodes.
export PATH="/opt/jetson_edge/install/lib/jetson_edge_bringup:${PATH}"
exec "$@"
