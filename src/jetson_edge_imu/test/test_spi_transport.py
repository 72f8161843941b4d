"""The MPU's SPI framing as spidev sees it: mode 3, the read bit, bursts, and which clock each
transfer gets. A recorder stands in for spidev (no SPI controller exists here); the emulator's
SPI face is tested against the driver in jetson_edge_sim's tests."""

import pytest

from jetson_edge_imu import mpu_registers as reg
from jetson_edge_imu.errors import ConfigError, TransportError
from jetson_edge_imu.transport import SpiRegisterIO, open_spi


class RecordingSpiDev:
    """spidev.SpiDev's surface: records each xfer2 and answers ``answer(out)``."""

    def __init__(self, answer=lambda out: [0xA5] * len(out), fail=False):
        self.mode = 0
        self.max_speed_hz = 125_000
        self.transfers = []
        self.closed = False
        self._answer = answer
        self._fail = fail

    def xfer2(self, values, speed_hz=0, delay_usecs=0, bits_per_word=0):
        assert isinstance(values, list) and all(isinstance(v, int) for v in values)
        self.transfers.append((list(values), speed_hz))
        if self._fail:
            raise OSError(121, 'Remote I/O error')
        return self._answer(values)

    def close(self):
        self.closed = True


def test_opening_sets_mode_3_and_the_slow_clock():
    spi = RecordingSpiDev()
    SpiRegisterIO(spi, config_hz=1_000_000, read_hz=20_000_000)
    assert spi.mode == 3
    assert spi.max_speed_hz == 1_000_000


def test_a_read_sets_bit_7_and_returns_the_bytes_after_the_address_byte():
    spi = RecordingSpiDev(answer=lambda out: [0xEE] + list(range(1, len(out))))
    io = SpiRegisterIO(spi)
    assert io.read(reg.WHO_AM_I, 1) == bytes([1])
    assert spi.transfers[-1] == ([0x80 | reg.WHO_AM_I, 0], 1_000_000)


def test_the_sensor_block_is_one_burst_at_the_fast_clock():
    spi = RecordingSpiDev(answer=lambda out: [0] + list(range(len(out) - 1)))
    io = SpiRegisterIO(spi, config_hz=500_000, read_hz=16_000_000)
    data = io.read(reg.ACCEL_XOUT_H, reg.SAMPLE_BYTES)
    assert data == bytes(range(reg.SAMPLE_BYTES))
    out, speed = spi.transfers[-1]
    assert out == [0x80 | reg.ACCEL_XOUT_H] + [0] * reg.SAMPLE_BYTES
    assert speed == 16_000_000
    for fast in (reg.INT_STATUS, reg.FIFO_COUNTH, reg.FIFO_R_W, reg.EXT_SENS_DATA_00):
        io.read(fast, 2)
        assert spi.transfers[-1][1] == 16_000_000, hex(fast)
    for slow in (reg.WHO_AM_I, reg.PWR_MGMT_1, reg.I2C_MST_STATUS, reg.I2C_SLV4_DI):
        io.read(slow, 1)
        assert spi.transfers[-1][1] == 500_000, hex(slow)


def test_a_write_clears_bit_7_and_goes_at_the_slow_clock():
    spi = RecordingSpiDev()
    io = SpiRegisterIO(spi, config_hz=1_000_000, read_hz=20_000_000)
    io.write(reg.PWR_MGMT_1, bytes([0x01]))
    io.write(reg.I2C_SLV0_ADDR, bytes([0x8C, 0x02, 0x88]))
    assert spi.transfers == [([reg.PWR_MGMT_1, 0x01], 1_000_000),
                             ([reg.I2C_SLV0_ADDR, 0x8C, 0x02, 0x88], 1_000_000)]


@pytest.mark.parametrize('kwargs, words', [
    ({'config_hz': 2_000_000}, '1..1000000'),
    ({'read_hz': 25_000_000}, '1..20000000'),
])
def test_clocks_beyond_the_datasheet_are_refused(kwargs, words):
    with pytest.raises(ConfigError, match=words):
        SpiRegisterIO(RecordingSpiDev(), **kwargs)


def test_a_failing_transfer_is_a_transport_error_naming_the_device():
    io = SpiRegisterIO(RecordingSpiDev(fail=True), name='spidev0.1')
    with pytest.raises(TransportError, match='spidev0.1'):
        io.read(reg.ACCEL_XOUT_H, 14)
    assert io.errors == 1


def test_a_short_answer_is_a_transport_error():
    io = SpiRegisterIO(RecordingSpiDev(answer=lambda out: [0]))
    with pytest.raises(TransportError, match='returned 1 bytes for 15'):
        io.read(reg.ACCEL_XOUT_H, 14)


def test_the_stamp_correction_is_the_address_byte_at_the_read_clock():
    io = SpiRegisterIO(RecordingSpiDev(), read_hz=20_000_000)
    assert io.request_time_s() == pytest.approx(8 / 20e6)


def test_an_unknown_spi_backend_says_what_is_installed():
    with pytest.raises(ConfigError, match="spi_backend 'nope' is not installed"):
        open_spi(0, 0, backend='nope')
