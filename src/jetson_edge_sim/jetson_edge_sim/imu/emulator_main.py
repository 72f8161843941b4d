"""The ``imu_emulator`` node: an emulated BNO055 on a pseudo-terminal for the ``sim`` profile.

It creates the pty, links it at ``link_path`` (the driver's ``port``), and answers the BNO055
UART protocol with a walking humanoid torso's motion. It is a node so the supervisor can start
it from the plan with a parameter file, and so its counters appear on ``/diagnostics``.
"""

from __future__ import annotations

from rclpy.node import Node

from jetson_edge_common.diagnostics import DiagnosticsPublisher, Status, guard_threads
from jetson_edge_common.node_main import run
from jetson_edge_common.params import declare_parameters

from jetson_edge_sim.imu.bno055_emulator import UartFaults
from jetson_edge_sim.imu.emulated_device import EmulatedBno055, EmulatorOptions
from jetson_edge_sim.params import IMU_EMULATOR


class ImuEmulatorNode(Node):
    def __init__(self, **node_options) -> None:
        super().__init__('imu_emulator', **node_options)
        v = declare_parameters(self, IMU_EMULATOR)
        faults = UartFaults(garbage_before=v['fault_garbage'], bad_header=v['fault_bad_header'],
                            truncate=v['fault_truncate'], insert_byte=v['fault_insert'],
                            seed=v['seed'])
        options = EmulatorOptions(
            link_path=v['link_path'], rate_hz=v['rate_hz'],
            gyro_bias=tuple(float(x) for x in v['gyro_bias']),
            mount_rpy=tuple(float(x) for x in v['mount_rpy']), still_s=v['still_s'],
            intensity=v['intensity'], seed=v['seed'], faults=faults)
        self._diagnostics = DiagnosticsPublisher(self, hardware_id=f'emulated-bno055@'
                                                 f'{options.link_path}')
        self._diagnostics.add('emulator', self._status)
        self._guard = guard_threads(self, self._diagnostics)
        self.device = EmulatedBno055(options).start()
        self.get_logger().info(f'emulated BNO055 on {self.device.link.slave_path}, linked at '
                               f'{options.link_path}, {options.rate_hz:g} Hz')

    def _status(self) -> Status:
        s = self.device.server
        reads = self.device.registers.read_counters
        return Status.ok('serving', responses=s.responses, corrupted_on_purpose=s.corrupted,
                         sample_index=self.device.registers.sample_index,
                         sample_reads=reads.reads, samples_read_again=reads.read_again,
                         samples_never_read=reads.never_read,
                         mode=self.device.registers.mode.name, pty=self.device.link.slave_path)

    def close(self) -> None:
        self.device.close()


def main(args: list[str] | None = None) -> int:
    return run(ImuEmulatorNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
