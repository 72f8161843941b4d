"""The production IMU node with a fault injected into its reader thread: after ``--after``
read cycles on a connected device the driver's ``step`` raises an exception nobody foresaw.

    python test/imu_reader_fault.py --after 200 --ros-args -p port:=/tmp/x.pty

Everything else (parameters, the thread, the fatal thread hook, ``main``) is the node's own.
"""

import argparse
import sys

from jetson_edge_imu import driver, node


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('--after', type=int, default=200)
    args, ros_args = parser.parse_known_args()
    step = driver.ImuDriver.step
    calls = [0]

    def failing_step(self, now_ns):
        calls[0] += self.connected  # read cycles only, not the waits for the emulator's pty
        if calls[0] > args.after:
            raise RuntimeError(f'injected fault after {args.after} read cycles')
        return step(self, now_ns)

    driver.ImuDriver.step = failing_step
    return node.main([sys.argv[0], *ros_args])


if __name__ == '__main__':
    raise SystemExit(main())
