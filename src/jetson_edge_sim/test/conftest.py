"""Shared fixtures: emulated devices behind their real interfaces (a pty for the BNO055 UART,
the smbus2 call surface for the MPU), a simulated clock, and the recorded VLP-16 capture the
virtual sensor is compared with."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from jetson_edge_common.testing import committed_fixture

from jetson_edge_imu.motion import TorsoMotion
from jetson_edge_imu.sensor_specs import BNO055_NOISE, MPU6050_NOISE
from jetson_edge_lidar.input_stats import InputStats
from jetson_edge_lidar.pcap import read_udp_payloads
from jetson_edge_sim.imu.bno055_emulator import Bno055Registers, Bno055UartServer, UartFaults
from jetson_edge_sim.imu.mpu_emulator import MpuEmulator
from jetson_edge_sim.imu.pty_link import PtyLink
from jetson_edge_sim.imu.sim_sensor import SimulatedSensor


class SimClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    @property
    def ns(self) -> int:
        return int(round(self.t * 1e9))


@dataclass
class BnoRig:
    registers: Bno055Registers
    server: Bno055UartServer
    link: PtyLink
    sensor: SimulatedSensor
    thread: threading.Thread
    stop: threading.Event

    def close(self) -> None:
        # Join before closing: a server thread still polling a closed fd number would serve
        # whichever pty the next test opens under that number.
        self.stop.set()
        self.thread.join(2)
        self.link.close()


def start_bno(*, mode_rate_hz: float = 100.0, lockstep: bool = True,
              faults: UartFaults | None = None, gyro_bias=(0.0, 0.0, 0.0), link_path=None,
              clock=None) -> BnoRig:
    sensor = SimulatedSensor(TorsoMotion(), BNO055_NOISE, accel_bandwidth_hz=62.5,
                             gyro_bandwidth_hz=32.0, gyro_bias=gyro_bias)
    kwargs = {'clock': clock} if clock is not None else {}
    registers = Bno055Registers(sensor, rate_hz=mode_rate_hz, lockstep=lockstep, **kwargs)
    link = PtyLink(link_path=link_path)
    server = Bno055UartServer(registers, link.master_fd, faults=faults)
    stop = threading.Event()
    thread = threading.Thread(target=server.serve, args=(stop,), daemon=True)
    thread.start()
    return BnoRig(registers, server, link, sensor, thread, stop)


@pytest.fixture
def bno_rig() -> Iterator:
    """Factory: ``bno_rig(**kwargs)`` -> BnoRig, all torn down after the test."""
    rigs: list[BnoRig] = []

    def make(**kwargs) -> BnoRig:
        rig = start_bno(**kwargs)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.close()


@pytest.fixture
def sim_clock() -> SimClock:
    return SimClock()


@pytest.fixture
def mpu_emulator(sim_clock: SimClock):
    """Factory for an MPU emulator on the simulated clock."""

    def make(*, chip: str = 'mpu6050', gyro_bias=(0.0, 0.0, 0.0), motion=None,
             bandwidths=(44.0, 42.0), mount=None) -> MpuEmulator:
        kwargs = {'mount': mount} if mount is not None else {}
        sensor = SimulatedSensor(motion or TorsoMotion(), MPU6050_NOISE,
                                 accel_bandwidth_hz=bandwidths[0],
                                 gyro_bandwidth_hz=bandwidths[1], gyro_bias=gyro_bias, **kwargs)
        return MpuEmulator(sensor, sim_clock, chip=chip)

    return make


@pytest.fixture(scope='session')
def fixture_pcap() -> Path:
    """The real VLP-16 capture, committed under test/data."""
    return committed_fixture('lidar/vlp16_mrpt_3rev.pcap')


@pytest.fixture(scope='session')
def fixture_packets(fixture_pcap: Path) -> list[tuple[float, bytes]]:
    return [(d.timestamp, d.payload)
            for d in read_udp_payloads(fixture_pcap, stats=InputStats(), port=2368)]
