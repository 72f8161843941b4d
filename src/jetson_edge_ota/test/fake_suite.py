"""Stand-in for `jetson-edge up` in health-check tests: publishes real /diagnostics over DDS.

Usage: fake_suite.py LEVEL   (OK, WARN, ERROR or SILENT); runs until SIGINT/SIGTERM.
"""

import signal
import sys

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.qos import QoSProfile, ReliabilityPolicy

LEVELS = {'OK': DiagnosticStatus.OK, 'WARN': DiagnosticStatus.WARN,
          'ERROR': DiagnosticStatus.ERROR}


def main() -> None:
    level_name = sys.argv[1]
    signal.signal(signal.SIGTERM, lambda *_: rclpy.try_shutdown())
    rclpy.init()
    node = rclpy.create_node('fake_suite')
    pub = node.create_publisher(DiagnosticArray, '/diagnostics',
                                QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))

    def tick() -> None:
        if level_name == 'SILENT':
            return
        msg = DiagnosticArray()
        msg.header.stamp = node.get_clock().now().to_msg()
        status = DiagnosticStatus(name='perception: inference', hardware_id='sim',
                                  message=f'fake {level_name.lower()}')
        status.level = LEVELS[level_name]
        msg.status = [status]
        pub.publish(msg)
    node.create_timer(0.2, tick)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass
    finally:
        rclpy.try_shutdown()


if __name__ == '__main__':
    main()
