"""An emulated BNO055 on a pseudo-terminal, assembled and served until stopped: what the
``imu_emulator`` node and the benchmark run (in their own process, like a real device)."""

from __future__ import annotations

import gc
import threading
from collections.abc import MutableSequence
from dataclasses import dataclass, field

from jetson_edge_imu import quaternion as quat
from jetson_edge_imu.motion import TorsoMotion
from jetson_edge_imu.sensor_specs import BNO055_NOISE
from jetson_edge_sim.imu.bno055_emulator import (Bno055Registers, Bno055UartServer,
                                             SampleReadCounters, UartFaults)
from jetson_edge_sim.imu.pty_link import PtyLink
from jetson_edge_sim.imu.sim_sensor import SimulatedSensor


@dataclass
class EmulatorOptions:
    link_path: str = '/tmp/jetson_edge_imu.pty'
    rate_hz: float = 100.0
    gyro_bias: tuple[float, float, float] = (0.01, -0.008, 0.004)
    mount_rpy: tuple[float, float, float] = (0.0, 0.0, 0.0)
    still_s: float = 3.0
    intensity: float = 1.0
    seed: int = 1
    faults: UartFaults = field(default_factory=UartFaults)


class EmulatedBno055:
    """Owns the pty, the register model and the serving thread; ``close`` releases all."""

    def __init__(self, options: EmulatorOptions) -> None:
        self.options = options
        sensor = SimulatedSensor(
            TorsoMotion(still_s=options.still_s, intensity=options.intensity), BNO055_NOISE,
            accel_bandwidth_hz=62.5, gyro_bandwidth_hz=32.0, gyro_bias=options.gyro_bias,
            mount=quat.from_euler(*options.mount_rpy), seed=options.seed)
        self.registers = Bno055Registers(sensor, rate_hz=options.rate_hz)
        self.link = PtyLink(link_path=options.link_path)
        self.server = Bno055UartServer(self.registers, self.link.master_fd, faults=options.faults)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.server.serve, args=(self._stop,),
                                        name='bno055-emulator', daemon=True)

    def start(self) -> 'EmulatedBno055':
        self._thread.start()
        return self

    def serve_forever(self, stop: threading.Event) -> None:
        """Serve in the calling thread until ``stop`` is set."""
        self.server.serve(stop)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)
        self.link.close()


class _MirroredReadCounters(SampleReadCounters):
    """Read counters copied after every data read into ``shared`` (reads, read_again,
    never_read, sample index, then ``never_read_by_run``): how a benchmark in another process
    reads the device's truth."""

    SIZE = 4 + len(SampleReadCounters.RUN_CLASSES) + 1

    def __init__(self, shared: MutableSequence[int]) -> None:
        super().__init__()
        self.shared = shared

    def count(self, index: int) -> None:
        super().count(index)
        self.shared[:] = (self.reads, self.read_again, self.never_read, index,
                          *self.never_read_by_run)


READ_COUNTERS_SIZE = _MirroredReadCounters.SIZE


def serve(options: EmulatorOptions, stop: threading.Event | None = None, *,
          read_counters: MutableSequence[int] | None = None) -> None:
    """Process entry point (``multiprocessing`` target): serve until ``stop`` or a signal.
    ``read_counters`` (``READ_COUNTERS_SIZE`` integers, e.g. a ``multiprocessing.Array``)
    mirrors the device-side sample read counters."""
    device = EmulatedBno055(options)
    if read_counters is not None:
        device.registers.read_counters = _MirroredReadCounters(read_counters)
    # The emulator stands in for hardware, which never pauses to collect garbage.
    gc.collect()
    gc.freeze()
    try:
        device.serve_forever(stop or threading.Event())
    finally:
        device.close()
