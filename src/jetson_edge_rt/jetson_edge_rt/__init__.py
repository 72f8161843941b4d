"""Real-time control executor: scheduling set-up, periodic loop, controller plug-ins.

The public surface; everything here is pure Python (no rclpy). The ROS node is `node.py`.
"""
from .buffers import LatestValue, PublishHandoff
from .clock import MonotonicClock, SimulatedClock
from .controllers import Controller, ControllerParam, available_controllers, load_controller
from .errors import ConfigError, ControllerError, ControllerNotFoundError, RtError
from .executor import LoopConfig, LoopRunner, ProcessConfig, RtExecutor
from .loop import OverrunPolicy, PeriodicLoop
from .rt_setup import CapabilityCheck, check_capabilities
from .timing import TimingRecorder, TimingStats, TimingThresholds, assess

__all__ = [
    'CapabilityCheck', 'ConfigError', 'Controller', 'ControllerError', 'ControllerNotFoundError',
    'ControllerParam', 'LatestValue', 'LoopConfig', 'LoopRunner', 'MonotonicClock', 'OverrunPolicy',
    'PeriodicLoop', 'ProcessConfig', 'PublishHandoff', 'RtError', 'RtExecutor', 'SimulatedClock',
    'TimingRecorder', 'TimingStats', 'TimingThresholds', 'assess', 'available_controllers',
    'check_capabilities', 'load_controller',
]
