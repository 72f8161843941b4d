"""The BNO055 UART protocol through a real pseudo-terminal: framing, status handling, and
survival of corrupted byte streams without ever accepting a corrupted frame."""

import os
import threading

import pytest

from jetson_edge_imu import bno055_registers as reg
from jetson_edge_imu.bno055 import Bno055
from jetson_edge_imu.bno055_uart import Bno055UartIO, encode_read, encode_write
from jetson_edge_imu.config import DriverConfig
from jetson_edge_imu.driver import ImuDriver
from jetson_edge_imu.errors import DeviceStatusError, ProtocolError
from jetson_edge_imu.motion import TorsoMotion
from jetson_edge_imu.sensor_specs import BNO055_NOISE
from jetson_edge_imu.transport import open_serial
from jetson_edge_sim.imu.bno055_emulator import (Bno055Registers, Bno055UartServer, LinkLost,
                                                 UartFaults)
from jetson_edge_sim.imu.sim_sensor import SimulatedSensor


def test_frames_follow_the_datasheet_layout():
    assert encode_read(0x08, 32) == bytes([0xAA, 0x01, 0x08, 0x20])
    assert encode_write(0x3D, b'\x0c') == bytes([0xAA, 0x00, 0x3D, 0x01, 0x0C])
    with pytest.raises(ValueError):
        encode_read(0x00, 129)


def _link(rig, *, retries=3):
    port = open_serial(rig.link.path, 115200, timeout_s=0.05)
    return Bno055UartIO(port, baud=2_000_000, retries=retries)


def test_read_and_write_over_the_pty(bno_rig):
    rig = bno_rig()
    io = _link(rig)
    assert io.read(reg.CHIP_ID, 1) == bytes([0xA0])
    io.write(reg.OPR_MODE, bytes([reg.OperatingMode.NDOF]))
    assert rig.registers.mode == reg.OperatingMode.NDOF
    assert io.stats.good_frames == 2 and io.stats.corrupt_frames == 0
    io.close()


def test_config_only_register_outside_config_mode_is_a_clear_error(bno_rig):
    rig = bno_rig()
    io = _link(rig)
    io.write(reg.OPR_MODE, bytes([reg.OperatingMode.NDOF]))
    with pytest.raises(DeviceStatusError, match='WRITE_FAIL') as info:
        io.write(reg.UNIT_SEL, bytes([reg.SI_UNITS]))
    assert info.value.status == reg.UartStatus.WRITE_FAIL
    with pytest.raises(DeviceStatusError, match='REGMAP_WRITE_DISABLED'):
        io.write(reg.CHIP_ID, b'\x00')
    io.close()


def test_bus_overrun_is_retried_transparently(bno_rig):
    rig = bno_rig(faults=UartFaults(bus_overrun=0.3, seed=3))
    io = _link(rig, retries=8)
    for _ in range(50):
        assert io.read(reg.CHIP_ID, 1) == bytes([0xA0])
    assert io.stats.device_busy > 5
    io.close()


@pytest.mark.parametrize('fault', ['garbage_before', 'bad_header', 'truncate', 'insert_byte',
                                   'silence'])
def test_each_corruption_kind_is_detected_counted_and_resynchronized(bno_rig, fault):
    rig = bno_rig(faults=UartFaults(**{fault: 0.2}, seed=11))
    io = _link(rig, retries=0)
    good = bad = 0
    for _ in range(150):
        try:
            assert io.read(reg.CHIP_ID, 7)[:4] == bytes([0xA0, 0xFB, 0x32, 0x0F])
            good += 1
        except ProtocolError:
            bad += 1
    assert bad > 10 and good > 80
    assert io.stats.corrupt_frames + io.stats.stale_bytes > 0
    io.close()


def test_driver_survives_a_corrupted_stream_and_never_publishes_a_corrupted_sample(bno_rig):
    faults = UartFaults(garbage_before=0.03, bad_header=0.03, truncate=0.03, insert_byte=0.03,
                        silence=0.01, bus_overrun=0.02, seed=5)
    rig = bno_rig(faults=faults)
    rig.server.record_clean = True
    warnings = []
    config = DriverConfig(port=rig.link.path, baud=2_000_000, bno055_mode='ndof',
                          filter='device', rate_hz=100)
    driver = ImuDriver(config, sleep=lambda s: None, on_warning=warnings.append)
    published = []
    for k in range(1500):
        published += driver.step(k * 10_000_000)
    clean = set(rig.server.clean_data_payloads)
    device = driver.device.sensor
    clean_samples = {device.decode(p).accel for p in clean}
    assert driver.connected and len(published) > 1000
    assert rig.server.corrupted > 50
    # Every published sample decodes from a payload the emulator sent uncorrupted.
    assert all(r.accel in clean_samples for r in published)
    stats = driver.io.stats
    assert stats.corrupt_frames > 30 and stats.device_busy > 5
    assert warnings  # the node rate-limits these; the core reports every one
    level, _, values = driver.status()
    assert int(values['uart_corrupt_frames']) == stats.corrupt_frames
    stamps = [r.stamp_ns for r in published]
    assert all(b > a for a, b in zip(stamps, stamps[1:]))


def test_pure_garbage_line_drops_the_link_instead_of_publishing(bno_rig):
    rig = bno_rig()
    config = DriverConfig(port=rig.link.path, baud=2_000_000, bno055_mode='ndof',
                          filter='device', rate_hz=100, max_consecutive_frame_errors=5)
    warnings = []
    driver = ImuDriver(config, sleep=lambda s: None, on_warning=warnings.append)
    assert driver.step(0) == [] and driver.connected
    rig.server.faults.bad_header = 1.0
    published = []
    for k in range(1, 20):
        published += driver.step(k * 10_000_000)
    assert published == [] and not driver.connected and driver.health.disconnects == 1
    assert any('5 protocol errors in a row' in w for w in warnings)
    level, _, _ = driver.status()
    assert level == level.ERROR


def test_device_class_decodes_fusion_units(bno_rig):
    rig = bno_rig()
    io = _link(rig)
    dev = Bno055(io, mode='ndof', sleep=lambda s: None)
    dev.probe()
    dev.configure()
    s = dev.read_sample()
    assert abs(s.accel[2] - 9.80665) < 0.1
    assert abs(sum(v * v for v in s.orientation) - 1) < 1e-3
    temperature, status = dev.read_status()
    assert temperature == 31.0 and status.gyro <= 3
    io.close()


def _serve_on(fd: int, stop):
    sensor = SimulatedSensor(TorsoMotion(), BNO055_NOISE, accel_bandwidth_hz=62.5,
                             gyro_bandwidth_hz=32.0)
    server = Bno055UartServer(Bno055Registers(sensor, rate_hz=100.0), fd)
    return server.serve(stop)


def test_a_link_that_ends_while_serving_raises_and_a_stop_ends_quietly():
    """Only ``stop`` ends the serve loop without an error: a link at its end or a failing fd
    raise LinkLost, which the thread contract turns into an ERROR and a restart."""
    read_end, write_end = os.pipe()
    os.close(write_end)
    try:
        with pytest.raises(LinkLost, match='reached its end'):
            _serve_on(read_end, threading.Event())
    finally:
        os.close(read_end)
    with pytest.raises(LinkLost, match=r'the pty master \(fd -1\) failed'):
        _serve_on(-1, threading.Event())
    stopped = threading.Event()
    stopped.set()
    assert _serve_on(-1, stopped) is None
