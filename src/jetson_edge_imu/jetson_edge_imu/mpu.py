"""InvenSense MPU-6050 / MPU-6500 / MPU-9250 device logic over a ``RegisterIO`` (I2C or SPI):
identify (WHO_AM_I), reset and wake, ranges, DLPF, sample-rate divider, reads either from
the FIFO (batches, no sample lost between polls) or on the data-ready flag, and the MPU-9250's
AK8963 magnetometer through the auxiliary I2C master or bypass mode."""

from __future__ import annotations

import math
import struct
import time
from collections.abc import Callable

from jetson_edge_imu import mpu_registers as reg
from jetson_edge_imu.ak8963 import Ak8963, BypassAuxBus, MasterAuxBus
from jetson_edge_imu.errors import ConfigError, DeviceIdentityError, ProtocolError
from jetson_edge_imu.motion import STANDARD_GRAVITY
from jetson_edge_imu.quaternion import Vec3
from jetson_edge_imu.samples import DeviceSample
from jetson_edge_imu.transport import RegisterIO

MAGNETOMETER_ROUTES = ('off', 'master', 'bypass')

_SAMPLE = struct.Struct('>7h')  # ax ay az temp gx gy gz, big-endian
_RESET_S = 0.1


class Mpu:
    """One MPU-6050/6500/9250. ``chip`` is 'auto' or the expected chip name."""

    def __init__(
        self,
        io: RegisterIO,
        *,
        chip: str = 'auto',
        rate_hz: int = 200,
        dlpf: int = 3,
        gyro_range_dps: int = 2000,
        accel_range_g: int = 8,
        use_fifo: bool = True,
        spi: bool = False,
        magnetometer: str = 'off',
        bypass_io: Callable[[], RegisterIO] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``magnetometer``: how to reach an MPU-9250's AK8963 ('master': the MPU's auxiliary
        I2C master, on either bus; 'bypass': the host's I2C bus, ``bypass_io`` opening the
        AK8963's address there), ignored for chips without one. ``spi``: the MPU is on SPI
        (its I2C interface is then switched off)."""
        if chip != 'auto' and chip not in reg.WHO_AM_I_BY_CHIP:
            raise ConfigError(f'unknown MPU chip {chip!r}; choose auto or one of '
                              f'{sorted(reg.WHO_AM_I_BY_CHIP)}')
        if gyro_range_dps not in reg.GYRO_RANGES_DPS:
            raise ConfigError(f'gyro range {gyro_range_dps} dps is not one of '
                              f'{reg.GYRO_RANGES_DPS}')
        if accel_range_g not in reg.ACCEL_RANGES_G:
            raise ConfigError(f'accel range {accel_range_g} g is not one of {reg.ACCEL_RANGES_G}')
        if not 0 <= dlpf <= 6:
            raise ConfigError(f'dlpf must be 0..6 (DLPF_CFG), got {dlpf}')
        if magnetometer not in MAGNETOMETER_ROUTES:
            raise ConfigError(f'magnetometer {magnetometer!r} is not one of {MAGNETOMETER_ROUTES}')
        if magnetometer == 'bypass' and (spi or bypass_io is None):
            raise ConfigError('magnetometer bypass needs the MPU on I2C (the AK8963 is then on '
                              'the same bus); over SPI use magnetometer master')
        self._io = io
        self._sleep = sleep
        self.chip = chip
        self.rate_hz = rate_hz
        self.dlpf = dlpf
        self.gyro_range_dps = gyro_range_dps
        self.accel_range_g = accel_range_g
        self.use_fifo = use_fifo
        self.spi = spi
        self.magnetometer_route = magnetometer
        self._bypass_io = bypass_io
        self.magnetometer: Ak8963 | None = None
        self._accel_scale = accel_range_g * STANDARD_GRAVITY / 32768.0
        self._gyro_scale = math.radians(gyro_range_dps) / 32768.0
        self.fifo_overflows = 0
        self.read_length = reg.SAMPLE_BYTES

    has_fusion = False

    @property
    def bandwidths_hz(self) -> tuple[float, float]:
        """(accel, gyro) noise bandwidth of the configured DLPF."""
        row = reg.DLPF_BY_CHIP[self.chip if self.chip != 'auto' else 'mpu6050'][self.dlpf]
        return row.accel_bandwidth_hz, row.gyro_bandwidth_hz

    def divider(self) -> int:
        """SMPLRT_DIV for the requested rate; refuses rates the divider cannot make exactly."""
        internal = reg.DLPF_MPU6050[self.dlpf].internal_rate_hz
        div = internal / self.rate_hz - 1
        if div < 0 or div > 255 or div != int(div):
            valid = sorted({internal // (d + 1) for d in range(256)
                            if internal % (d + 1) == 0 and internal // (d + 1) >= 4})
            near = min(valid, key=lambda r: abs(r - self.rate_hz))
            raise ConfigError(f'rate {self.rate_hz} Hz is not {internal} Hz / (1 + SMPLRT_DIV) '
                              f'with dlpf={self.dlpf}; nearest exact rate is {near} Hz')
        return int(div)

    def probe(self) -> None:
        who = self._io.read(reg.WHO_AM_I, 1)[0]
        found = reg.WHO_AM_I_VALUES.get(who)
        if found is None:
            raise DeviceIdentityError(
                f'WHO_AM_I is 0x{who:02x}, not an MPU-6050 (0x68) / 6500 (0x70) / 9250 (0x71); '
                'check device_type and address (0x68/0x69)')
        if self.chip != 'auto' and found != self.chip:
            raise DeviceIdentityError(f'expected {self.chip} but WHO_AM_I 0x{who:02x} says '
                                      f'{found}; fix the device_type parameter')
        self.chip = found

    @property
    def _user_ctrl(self) -> int:
        """USER_CTRL bits that stay set whatever the FIFO does."""
        bits = reg.USER_CTRL_I2C_IF_DIS if self.spi else 0
        if self.magnetometer is not None and self.magnetometer_route == 'master':
            bits |= reg.USER_CTRL_I2C_MST_EN
        return bits

    def configure(self) -> None:
        div = self.divider()
        w = self._write
        w(reg.PWR_MGMT_1, reg.PWR1_DEVICE_RESET)
        self._sleep(_RESET_S)
        self.magnetometer = None
        if self.spi:
            # The register map asks SPI users to switch the I2C slave off right after reset.
            w(reg.USER_CTRL, self._user_ctrl)
        w(reg.PWR_MGMT_1, reg.PWR1_CLKSEL_PLL_XGYRO)  # wake (clears SLEEP), PLL clock
        w(reg.PWR_MGMT_2, 0x00)
        w(reg.CONFIG, self.dlpf)
        w(reg.SMPLRT_DIV, div)
        w(reg.GYRO_CONFIG, reg.GYRO_RANGES_DPS.index(self.gyro_range_dps) << 3)
        w(reg.ACCEL_CONFIG, reg.ACCEL_RANGES_G.index(self.accel_range_g) << 3)
        if self.chip in ('mpu6500', 'mpu9250'):
            w(reg.ACCEL_CONFIG2, self.dlpf)
        w(reg.INT_ENABLE, reg.INT_DATA_RDY | (reg.INT_FIFO_OFLOW if self.use_fifo else 0))
        if self._io.read(reg.PWR_MGMT_1, 1)[0] & reg.PWR1_SLEEP:
            raise ProtocolError('MPU stayed asleep after wake-up (PWR_MGMT_1.SLEEP still set)')
        if self.chip == 'mpu9250' and self.magnetometer_route != 'off':
            self._start_magnetometer()
        if self.use_fifo:
            self.reset_fifo()
            w(reg.FIFO_EN, reg.FIFO_EN_SENSORS)

    def _start_magnetometer(self) -> None:
        if self.magnetometer_route == 'master':
            bus = MasterAuxBus(self._io, sleep=self._sleep)
            magnetometer = Ak8963(bus, sleep=self._sleep)
            self.magnetometer = magnetometer  # sets I2C_MST_EN in _user_ctrl
            self._write(reg.USER_CTRL, self._user_ctrl)
            bus.setup()
        else:
            self._write(reg.INT_PIN_CFG, reg.INT_PIN_CFG_BYPASS_EN)
            magnetometer = Ak8963(BypassAuxBus(self._bypass_io()), sleep=self._sleep)
            self.magnetometer = magnetometer
        magnetometer.start()

    def reset_fifo(self) -> None:
        self._write(reg.USER_CTRL, self._user_ctrl | reg.USER_CTRL_FIFO_RESET)
        self._write(reg.USER_CTRL, self._user_ctrl | reg.USER_CTRL_FIFO_EN)

    def read_magnetometer(self) -> Vec3 | None:
        """The AK8963's latest field (T, MPU frame), or ``None`` (none yet, or an overflow)."""
        return self.magnetometer.read() if self.magnetometer is not None else None

    def read_samples(self) -> list[DeviceSample]:
        """Every sample available now: the FIFO contents, or one data-ready sample."""
        if self.use_fifo:
            return self._read_fifo()
        status = self._io.read(reg.INT_STATUS, 1)[0]
        if not status & reg.INT_DATA_RDY:
            return []
        return [self.decode(self._io.read(reg.ACCEL_XOUT_H, reg.SAMPLE_BYTES))]

    def _read_fifo(self) -> list[DeviceSample]:
        status = self._io.read(reg.INT_STATUS, 1)[0]
        if status & reg.INT_FIFO_OFLOW:
            # Samples were lost and the byte stream may be misaligned: start clean.
            self.fifo_overflows += 1
            self.reset_fifo()
            return []
        hi, lo = self._io.read(reg.FIFO_COUNTH, 2)
        count = (hi << 8) | lo
        n = count // reg.SAMPLE_BYTES
        if count % reg.SAMPLE_BYTES and n == 0:
            self.reset_fifo()
            raise ProtocolError(f'FIFO holds {count} bytes, not whole {reg.SAMPLE_BYTES}-byte '
                                'samples; FIFO reset')
        if n == 0:
            return []
        data = self._io.read(reg.FIFO_R_W, n * reg.SAMPLE_BYTES)
        out = []
        for i in range(n):
            s = self.decode(data[i * reg.SAMPLE_BYTES:(i + 1) * reg.SAMPLE_BYTES])
            s.samples_before = n - 1 - i
            out.append(s)
        return out

    def decode(self, block: bytes) -> DeviceSample:
        ax, ay, az, t, gx, gy, gz = _SAMPLE.unpack(block)
        a = self._accel_scale
        g = self._gyro_scale
        extreme = (32767, -32768)
        saturated = any(v in extreme for v in (ax, ay, az, gx, gy, gz))
        return DeviceSample((ax * a, ay * a, az * a), (gx * g, gy * g, gz * g), block, saturated,
                            None, reg.temperature_celsius(self.chip, t))

    def _write(self, register: int, value: int) -> None:
        self._io.write(register, bytes((value,)))
