"""The AK8963 logic against the data sheet: the start-up sequence (identity, reset, fuse ROM
for the sensitivity adjustment, power-down between modes, continuous 16-bit), the adjustment
arithmetic, the axis swap into the MPU's frame, and overflow as a counted drop."""

import struct

import pytest

from jetson_edge_imu import ak8963_registers as ak
from jetson_edge_imu.ak8963 import Ak8963
from jetson_edge_imu.errors import DeviceIdentityError, ProtocolError


class RecordingAuxBus:
    """An AuxBus that records the driver's transfers and answers from a register dict."""

    def __init__(self, registers):
        self.registers = dict(registers)
        self.log = []
        self.block = bytes(8)
        self.continuous = None

    def read(self, register, length):
        self.log.append(('read', register, length))
        return bytes(self.registers.get(register + i, 0) for i in range(length))

    def write(self, register, value):
        self.log.append(('write', register, value))

    def start_continuous_read(self, register, length):
        self.continuous = (register, length)

    def read_block(self, length):
        return self.block


def _block(hx, hy, hz, *, st1=ak.ST1_DRDY, st2=ak.ST2_BITM):
    return bytes([st1]) + struct.pack('<3h', hx, hy, hz) + bytes([st2])


def test_sensitivity_adjustment_is_the_data_sheet_formula():
    assert ak.sensitivity_factor(128) == 1.0
    assert ak.sensitivity_factor(176) == pytest.approx(1.1875)
    assert ak.sensitivity_factor(0) == 0.5
    assert ak.sensitivity_factor(255) == pytest.approx(1 + 127 / 256)


def test_start_reads_the_fuse_rom_with_power_down_between_modes():
    bus = RecordingAuxBus({ak.WIA: 0x48, ak.ASAX: 176, ak.ASAX + 1: 128, ak.ASAX + 2: 0})
    mag = Ak8963(bus, sleep=lambda s: None)
    mag.start()
    writes = [(r, v) for kind, r, v in bus.log if kind == 'write']
    assert writes == [(ak.CNTL2, ak.CNTL2_SRST),
                      (ak.CNTL1, ak.CNTL1_POWER_DOWN), (ak.CNTL1, ak.CNTL1_FUSE_ROM),
                      (ak.CNTL1, ak.CNTL1_POWER_DOWN),
                      (ak.CNTL1, ak.CNTL1_BIT_16 | ak.CNTL1_CONTINUOUS_100HZ)]
    # the adjustment is read while in fuse-ROM mode
    asa_read = bus.log.index(('read', ak.ASAX, 3))
    assert bus.log[asa_read - 1] == ('write', ak.CNTL1, ak.CNTL1_FUSE_ROM)
    assert mag.asa == (176, 128, 0)
    assert mag.sensitivity == (1.1875, 1.0, 0.5)
    assert bus.continuous == (ak.ST1, 8)


def test_a_wrong_identity_is_refused():
    mag = Ak8963(RecordingAuxBus({ak.WIA: 0x00}), sleep=lambda s: None)
    with pytest.raises(DeviceIdentityError, match='WIA is 0x00'):
        mag.start()


def test_decode_applies_the_adjustment_and_swaps_into_the_mpu_frame():
    mag = Ak8963(RecordingAuxBus({}), sleep=lambda s: None)
    mag.sensitivity = (1.1875, 1.0, 0.5)
    x, y, z = mag.decode(_block(100, -200, 300))
    lsb = 0.15e-6
    # AK8963 X -> MPU Y, AK8963 Y -> MPU X, AK8963 Z -> MPU -Z
    assert x == pytest.approx(-200 * 1.0 * lsb)
    assert y == pytest.approx(100 * 1.1875 * lsb)
    assert z == pytest.approx(-300 * 0.5 * lsb)


def test_an_overflow_is_a_counted_drop_not_a_reading():
    mag = Ak8963(RecordingAuxBus({}), sleep=lambda s: None)
    assert mag.decode(_block(32000, 0, 0, st2=ak.ST2_BITM | ak.ST2_HOFL)) is None
    assert mag.overflows == 1
    assert mag.decode(_block(10, 10, 10)) is not None
    assert mag.overflows == 1


def test_no_measurement_yet_is_nothing_and_a_14_bit_block_is_a_protocol_error():
    mag = Ak8963(RecordingAuxBus({}), sleep=lambda s: None)
    assert mag.decode(bytes(8)) is None
    assert mag.overflows == 0
    with pytest.raises(ProtocolError, match='14-bit'):
        mag.decode(_block(1, 2, 3, st2=0))
    with pytest.raises(ProtocolError, match='7 bytes'):
        mag.decode(bytes(7))
