"""The MPU emulator behind spidev's interface: the SPI face of an emulated MPU-6500/9250.

:class:`EmulatedSpiDev` has the methods and attributes of ``spidev.SpiDev`` the driver uses
(``open``, ``mode``, ``max_speed_hz``, ``xfer2``, ``close``) and decodes the MPU's framing: the
first byte of a transfer is the register, bit 7 set for a read; the rest are data, the address
incrementing through the burst (not at the FIFO port). What a wrong set-up does to a real part
is what it does here: a mode other than 3 samples the bits on the wrong edge (the answer is
garbage: all ones), and a clock above the part's limit (1 MHz for configuration registers,
20 MHz for sensor and interrupt reads) returns garbage or loses the write; both are counted.

:func:`open_emulated_spi` is what the ``sim`` SPI backend registers (entry point group
``jetson_edge_imu.spi_backends``): it gives the driver, in its own process, an emulated MPU-9250
on the real clock, one per (bus, chip select), kept across reconnects like a device on a bus.
There is no SPI between processes to emulate, so this link is in-process: it exercises the
driver's framing, clocks and register logic, not a bus's timing.
"""

from __future__ import annotations

import errno
import threading
import time
from collections import Counter

from jetson_edge_imu import mpu_registers as reg
from jetson_edge_imu.motion import TorsoMotion
from jetson_edge_imu.sensor_specs import MPU9250_NOISE
from jetson_edge_sim.imu.mpu_emulator import MpuEmulator
from jetson_edge_sim.imu.sim_sensor import SimulatedSensor

_GARBAGE = 0xFF  # MISO idles high


class EmulatedSpiDev:
    """``spidev.SpiDev`` in front of an :class:`MpuEmulator` (its chip must have SPI)."""

    def __init__(self, device: MpuEmulator) -> None:
        if device.chip not in reg.SPI_CHIPS:
            raise ValueError(f'the {device.chip} has no SPI interface')
        self.device = device
        self.mode = 0
        self.max_speed_hz = 500_000
        self.bits_per_word = 8
        self.opened: tuple[int, int] | None = None
        self.mode_errors = 0
        self.speed_violations = 0
        self.transfers = 0
        self.speeds: Counter[tuple[str, int]] = Counter()  # ('read'|'write', Hz) -> transfers

    def open(self, bus: int, device: int) -> None:
        self.opened = (bus, device)

    def close(self) -> None:
        self.opened = None

    def xfer2(self, values: list[int], speed_hz: int = 0, delay_usecs: int = 0,
              bits_per_word: int = 0) -> list[int]:
        if self.opened is None:
            raise OSError(errno.EBADF, 'SPI device is not open')
        self.transfers += 1
        n = len(values)
        if n == 0:
            return []
        speed = speed_hz or self.max_speed_hz
        first = values[0]
        register = first & 0x7F
        reading = bool(first & reg.SPI_READ)
        self.speeds['read' if reading else 'write', speed] += 1
        if self.mode != reg.SPI_MODE or (bits_per_word or self.bits_per_word) != 8:
            self.mode_errors += 1
            return [_GARBAGE] * n
        limit = (reg.SPI_SENSOR_HZ_MAX if reading and register in reg.SPI_FAST_READ_REGISTERS
                 else reg.SPI_CONFIG_HZ_MAX)
        if speed > limit:
            self.speed_violations += 1
            return [_GARBAGE] * n
        device = self.device
        device.transactions += 1
        device.catch_up()
        if reading:
            return [0] + device.read_burst(register, n - 1)
        device.write_burst(register, list(values[1:]))
        return [0] * n


_DEVICES: dict[tuple[int, int], MpuEmulator] = {}
_DEVICES_LOCK = threading.Lock()


def emulated_mpu9250(*, clock=None, seed: int = 1) -> MpuEmulator:
    """An MPU-9250 (with its AK8963) on a torso that stands still for 3 s from now (when the
    driver estimates its gyro bias), then walks; datasheet noise."""
    if clock is None:
        start = time.monotonic()

        def clock() -> float:
            return time.monotonic() - start
    sensor = SimulatedSensor(TorsoMotion(still_s=3.0), MPU9250_NOISE, accel_bandwidth_hz=44.8,
                             gyro_bandwidth_hz=41.0, gyro_bias=(0.01, -0.008, 0.004), seed=seed)
    return MpuEmulator(sensor, clock, chip='mpu9250')


def open_emulated_spi(bus: int, chip_select: int) -> EmulatedSpiDev:
    """The ``sim`` SPI backend: the emulated MPU-9250 at (bus, chip select), opened."""
    with _DEVICES_LOCK:
        device = _DEVICES.get((bus, chip_select))
        if device is None:
            device = _DEVICES[bus, chip_select] = emulated_mpu9250()
    spi = EmulatedSpiDev(device)
    spi.open(bus, chip_select)
    return spi
