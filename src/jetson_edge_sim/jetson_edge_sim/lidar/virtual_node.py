"""``virtual_velodyne``: the sim profile's LiDAR, sending real packets to the driver's port.

The packets come from :class:`~jetson_edge_sim.lidar.virtual_sensor.SimulatedVelodyne` (a room
seen from a humanoid's head) and leave at the real device's packet rate; the driver cannot
tell them from a sensor on the wire.
"""

from __future__ import annotations

import sys
import threading

from rclpy.exceptions import InvalidParameterValueException
from rclpy.node import Node

from jetson_edge_common.diagnostics import DiagnosticsPublisher, guard_threads, Status
from jetson_edge_common.node_main import run
from jetson_edge_common.params import declare_parameters, on_parameter_change

from jetson_edge_lidar.errors import LidarError
from jetson_edge_lidar.models import model_by_name, return_mode_by_name
from jetson_edge_sim.lidar.virtual_sensor import SimulatedVelodyne, VirtualVelodyne
from jetson_edge_sim.params import VIRTUAL_VELODYNE


class VirtualVelodyneNode(Node):
    def __init__(self, **node_options) -> None:
        super().__init__('virtual_velodyne', **node_options)
        p = declare_parameters(self, VIRTUAL_VELODYNE)
        on_parameter_change(self, VIRTUAL_VELODYNE, lambda name, value: None)
        sensor = SimulatedVelodyne(model_by_name(p['model']),
                                   return_mode_by_name(p['return_mode']), rpm=p['rpm'],
                                   height_m=p['height_m'])
        self._sender = VirtualVelodyne(sensor, host=p['host'], port=p['port'])
        diagnostics = DiagnosticsPublisher(self, hardware_id=f'virtual {p["model"]}')
        diagnostics.add('sensor', self._status)
        self._guard = guard_threads(self, diagnostics)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sender.run, args=(self._stop,),
                                        name='virtual-velodyne', daemon=True)
        self._thread.start()
        self.get_logger().info(f'simulating a {p["model"]} ({p["return_mode"]}, '
                               f'{p["rpm"]} RPM), sending to {p["host"]}:{p["port"]}')

    def _status(self) -> Status:
        sender = self._sender
        values = {'packets_sent': sender.sent, 'packets_skipped': sender.skipped,
                  'send_errors': sender.send_errors}
        if not self._thread.is_alive():
            return Status.error('sender thread stopped', **values)
        return Status.ok('sending', **values)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self._sender.close()


def main(args: list[str] | None = None) -> int:
    try:
        return run(VirtualVelodyneNode, args)
    except (LidarError, ValueError, InvalidParameterValueException) as exc:
        print(f'virtual_velodyne: {exc}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
