"""thermal_model_node: the sim board, a thermal model writing a sysfs-shaped tree.

Wiring only: a timer steps :class:`ThermalModel` (scaled by ``time_scale``); the inference
rate heating it is the measured message rate of perception's detections, the CPU load is this
machine's (psutil) unless fixed by a parameter; ``ambient_c`` can be changed at run time to
heat or cool the robot.  The power manager reads the tree and acts on it (nvpmodel emulated
over it, the fan PWM written into it), which closes the loop.
"""

from __future__ import annotations

import sys

import psutil
from jetson_edge_common import qos
from jetson_edge_common.diagnostics import DiagnosticsPublisher, guard_threads, Status
from jetson_edge_common.node_main import run
from jetson_edge_common.params import declare_parameters, on_parameter_change
from jetson_edge_common.stats import RateMeter
from rclpy.node import Node

from jetson_edge_power.settings import load_layout
from jetson_edge_sim.params import THERMAL_MODEL
from jetson_edge_sim.power.thermal_model import ThermalModel, ThermalModelParams


class ThermalModelNode(Node):
    def __init__(self, **node_options) -> None:
        super().__init__('thermal_model', **node_options)
        p = declare_parameters(self, THERMAL_MODEL)
        self._p = p
        layout, _ = load_layout(p)  # its logger takes %-style arguments, a ROS logger does not
        self._model = ThermalModel(layout, p['sysfs_root'], initial_c=p['initial_c'],
                                   params=ThermalModelParams(ambient_c=p['ambient_c'],
                                                             noise_c=p['noise_c']))
        self._detections = RateMeter(window_s=2.0)
        if p['detections_topic']:
            from vision_msgs.msg import Detection2DArray
            self.create_subscription(Detection2DArray, p['detections_topic'],
                                     lambda _msg: self._detections.tick(), qos.RELIABLE_STREAM)
        psutil.cpu_percent()  # prime: the next call measures from here
        on_parameter_change(self, THERMAL_MODEL, self._apply)
        diag = DiagnosticsPublisher(self, hardware_id=f'model:{layout.model}', period_s=1.0)
        diag.add('model', self._status)
        self._guard = guard_threads(self, diag)
        self.create_timer(p['step_period_s'], self._step)
        self.get_logger().info(f'thermal model writing a {layout.model} tree to '
                               f'{p["sysfs_root"]}')

    def _apply(self, name: str, value) -> None:
        self._p[name] = value
        if name == 'ambient_c':
            self._model.ambient_c = float(value)

    def _step(self) -> None:
        p = self._p
        cpu = p['cpu_load'] if p['cpu_load'] >= 0 else psutil.cpu_percent() / 100.0
        rate = self._detections.rate() if p['detections_topic'] else p['inference_rate_hz']
        self._model.set_load(cpu_load=cpu, inference_rate_hz=rate)
        self._model.step(p['step_period_s'] * p['time_scale'])

    def _status(self) -> Status:
        m = self._model
        return Status.ok(f'{m.temp_c:.1f} C, {m.power_w:.1f} W, mode {m.mode_id}',
                         temp_c=round(m.temp_c, 2), power_w=round(m.power_w, 2),
                         mode_id=m.mode_id, fan_pwm=m.fan_pwm, ambient_c=m.ambient_c,
                         cpu_load=round(m.cpu_load, 3),
                         inference_rate_hz=round(m.requested_rate_hz, 2),
                         steady_state_c=round(m.steady_state_c(), 2))


def main(args: list[str] | None = None) -> int:
    try:
        return run(ThermalModelNode, args)
    except ValueError as exc:
        print(f'thermal_model: {exc}', file=sys.stderr)
        return 2
