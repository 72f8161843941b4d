"""Parameter schema of the rt executor node: loop, process set-up, thresholds, topics, controllers.

Each controller's own parameters are declared under its name (`balance.kp_roll`, ...), for every
controller known here, so a profile can be validated whatever controller it selects; the node
hands the selected controller its own group.
"""
from __future__ import annotations

from importlib.metadata import entry_points

from jetson_edge_common.params import ParamSpec

from .controllers import GROUP
from .controllers.balance import BalanceController

EXECUTOR = [
    ParamSpec('controller', 'balance', 'Controller of the control loop (entry point group jetson_edge.controllers)',
              read_only=True),
    ParamSpec('rate_hz', 500.0, 'Control loop rate', min_value=100.0, max_value=1000.0, read_only=True),
    ParamSpec('priority', 80, 'SCHED_FIFO priority of the control loop thread (0: SCHED_OTHER)',
              min_value=0, max_value=99, read_only=True),
    ParamSpec('cpu', -1, 'CPU core the control loop thread is pinned to (-1: no pinning); pick an isolated core',
              min_value=-1, max_value=255, read_only=True),
    ParamSpec('spin_us', 0.0, 'Wake this long before each deadline and busy-wait the rest (hides wake-up and '
              'GIL latency; costs that much CPU per cycle: for an isolated core)', min_value=0.0,
              max_value=1000.0, read_only=True),
    ParamSpec('overrun_policy', 'skip', 'After an overrun: skip the missed cycles or run them back to back',
              choices=('skip', 'catch_up'), read_only=True),
    ParamSpec('max_catch_up', 10, 'Most missed cycles run back to back under catch_up; the rest are skipped',
              min_value=0, max_value=1000, read_only=True),
    ParamSpec('aux_controller', '', 'Controller of the second, lower-priority loop (empty: no second loop)',
              read_only=True),
    ParamSpec('aux_rate_hz', 30.0, 'Second loop rate', min_value=1.0, max_value=200.0, read_only=True),
    ParamSpec('aux_priority', 10, 'SCHED_FIFO priority of the second loop (0: SCHED_OTHER)',
              min_value=0, max_value=99, read_only=True),
    ParamSpec('aux_cpu', -1, 'CPU core of the second loop (-1: no pinning)', min_value=-1, max_value=255,
              read_only=True),
    ParamSpec('mlock', True, 'Lock the process memory (mlockall) and pre-fault the heap', read_only=True),
    ParamSpec('prefault_mb', 16, 'Heap pre-faulted after locking memory (what the loops and their publishers '
              'allocate later reuses it without a page fault)', min_value=0, max_value=4096,
              read_only=True),
    ParamSpec('gc_freeze', True, 'Freeze the garbage collector after start-up and disable automatic collection',
              read_only=True),
    ParamSpec('switch_interval_us', 500.0, 'GIL switch interval: the longest another thread delays a woken loop',
              min_value=50.0, max_value=5000.0, read_only=True),
    ParamSpec('cpu_dma_latency_us', 0, 'Hold CPU wake-up latency at or below this (PM QoS; -1: leave idle '
              'states alone, saving power)', min_value=-1, max_value=10000, read_only=True),
    ParamSpec('companion_priority', 1, 'SCHED_FIFO priority of the node\'s other threads that take the GIL (ROS '
              'executor, command hand-off), below the loops\': a GIL holder preempted by another process stalls '
              'the loop until it runs again (0: SCHED_OTHER)', min_value=0, max_value=98, read_only=True),
    ParamSpec('timing_window_s', 5.0, 'Window of the timing statistics', min_value=0.5, max_value=60.0,
              read_only=True),
    ParamSpec('report_period_s', 1.0, 'Period of rt/timing and /diagnostics', min_value=0.1, max_value=10.0,
              read_only=True),
    ParamSpec('latency_warn_us', 200.0, 'p99 wake-up latency above this: WARN', min_value=1.0, max_value=1e6,
              read_only=True),
    ParamSpec('latency_error_us', 1000.0, 'p99 wake-up latency above this: ERROR', min_value=1.0, max_value=1e6,
              read_only=True),
    ParamSpec('overrun_warn', 0, 'Overruns in the window above this: WARN', min_value=0, max_value=1_000_000,
              read_only=True),
    ParamSpec('overrun_error', 10, 'Overruns in the window above this: ERROR', min_value=0, max_value=1_000_000,
              read_only=True),
    ParamSpec('imu_topic', 'imu/data', 'sensor_msgs/Imu input (sensor-data QoS)', read_only=True),
    ParamSpec('command_topic', 'control/command', 'std_msgs/Float64MultiArray output, one value per joint in '
              'the controller\'s joint order', read_only=True),
    ParamSpec('timing_topic', 'rt/timing', 'jetson_edge_msgs/LoopTiming output', read_only=True),
]


def controller_classes() -> dict[str, type]:
    """Controllers whose parameters the node declares: the shipped one plus every registered plug-in."""
    classes: dict[str, type] = {'balance': BalanceController}
    for ep in entry_points(group=GROUP):
        if ep.name in classes:
            continue
        try:
            classes[ep.name] = ep.load()
        except Exception:  # noqa: BLE001 - a broken plug-in is reported when selected, not here
            continue
    return classes


def controller_specs(name: str, cls: type) -> list[ParamSpec]:
    return [ParamSpec(f'{name}.{p.name}', p.default, p.description, min_value=p.min_value,
                      max_value=p.max_value, read_only=True) for p in getattr(cls, 'parameters', ())]


def node_specs() -> list[ParamSpec]:
    specs = list(EXECUTOR)
    for name, cls in controller_classes().items():
        specs.extend(controller_specs(name, cls))
    return specs


NODE_SPECS = node_specs()
