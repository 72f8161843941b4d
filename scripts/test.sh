#!/usr/bin/env bash
# Runs the whole test suite: every package's tests through colcon, then the system tests in
# test/ (the suite started as processes, checked over DDS). Sets everything up first.
#
#   scripts/test.sh [pytest args for the system tests]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh --test
set +u  # the colcon-generated setup scripts read unset variables
# shellcheck disable=SC1091
source scripts/env.sh
set -u
# The sim plays registry photos and models: fetched once, checksummed, cached.
jetson-edge assets fetch
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-$((1 + $$ % 100))}"
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST

status=0
# Sequential: package tests start ROS nodes, and parallel ones would share the DDS domain.
colcon test --executor sequential --event-handlers console_direct+ --return-code-on-test-failure \
  --pytest-args -p no:cacheprovider || status=1
colcon test-result --verbose || status=1
echo "== system tests (test/) =="
python -m pytest test -p no:cacheprovider -q "$@" || status=1
exit $status
