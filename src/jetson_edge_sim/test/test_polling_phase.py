"""Polling a BNO055, which has no FIFO and no data-ready flag: the emulator latches samples at its
output data rate and accounts for which ones a host read; the driver neither republishes a
sample it read twice nor stays on a poll phase that straddles the device's register update."""

import threading

from jetson_edge_imu import bno055_registers as reg
from jetson_edge_imu.config import DriverConfig
from jetson_edge_imu.driver import ImuDriver
from jetson_edge_imu.motion import TorsoMotion
from jetson_edge_imu.sensor_specs import BNO055_NOISE
from jetson_edge_sim.imu.bno055_emulator import Bno055Registers, SampleReadCounters
from jetson_edge_sim.imu.sim_sensor import SimulatedSensor

RATE_HZ = 100
PERIOD_S = 1 / RATE_HZ


def _registers(clock) -> Bno055Registers:
    sensor = SimulatedSensor(TorsoMotion(), BNO055_NOISE, accel_bandwidth_hz=62.5,
                             gyro_bandwidth_hz=32.0)
    registers = Bno055Registers(sensor, rate_hz=RATE_HZ, clock=clock)
    assert registers.write(reg.OPR_MODE, bytes([reg.OperatingMode.NDOF])) is (
        reg.UartStatus.WRITE_SUCCESS)
    return registers


def test_read_counters_tell_samples_read_twice_from_samples_never_read():
    c = SampleReadCounters()
    for index in (0, 1, 1, 2, 5, 6, 6, 6, 8, 20):
        c.count(index)
    assert (c.reads, c.read_again, c.never_read) == (10, 3, 14)
    assert c.never_read_by_run == [1, 2, 0, 11]  # 7 alone, 3-4 a pair, 9-19 a run of 11


def test_registers_latch_each_sample_when_due_without_being_read(sim_clock):
    registers = _registers(sim_clock)
    sim_clock.t = 0.012
    due_in = registers.latch_due_sample()
    assert registers.sample_index == 1
    assert abs(due_in - 0.008) < 1e-9
    latched = bytes(registers.regs[reg.ACC_DATA_X_LSB:reg.QUA_DATA_W_LSB + 8])
    assert latched != bytes(len(latched))
    assert registers.read(*reg.FUSION_BLOCK) == latched  # the read returns what was latched
    status_before = registers.read_counters.reads
    registers.read(*reg.SLOW_BLOCK)
    assert registers.read_counters.reads == status_before  # a status read is not a sample read


def test_emulator_counts_what_a_host_read_against_real_time(sim_clock):
    registers = _registers(sim_clock)
    for t in (0.005, 0.007, 0.015, 0.045):  # sample 0 twice, 1, then 4 (2 and 3 never read)
        sim_clock.t = t
        registers.read(*reg.FUSION_BLOCK)
    c = registers.read_counters
    assert (c.reads, c.read_again, c.never_read, c.last_read_index) == (4, 1, 2, 4)
    registers.write(reg.OPR_MODE, bytes([reg.OperatingMode.CONFIG]))
    assert registers.latch_due_sample() is None  # no data updates in CONFIG mode


def _bno_driver(rig) -> ImuDriver:
    config = DriverConfig(port=rig.link.path, baud=2_000_000, bno055_mode='ndof',
                          filter='device', rate_hz=RATE_HZ)
    return ImuDriver(config, sleep=lambda s: None)


def test_a_sample_read_twice_is_published_once(bno_rig, sim_clock):
    rig = bno_rig(lockstep=False, clock=sim_clock, mode_rate_hz=RATE_HZ)
    driver = _bno_driver(rig)
    sim_clock.t = 0.0
    assert driver.step(sim_clock.ns) == [] and driver.connected
    sim_clock.t = 1.003
    first = driver.step(sim_clock.ns)
    sim_clock.t = 1.006  # still the same sample in the device's registers
    again = driver.step(sim_clock.ns)
    sim_clock.t = 1.013
    nxt = driver.step(sim_clock.ns)
    assert len(first) == 1 and again == [] and len(nxt) == 1
    assert driver.repeated_reads == 1 and driver.last_read_repeated is False
    assert nxt[0].stamp_ns > first[0].stamp_ns
    assert driver.status()[2]['repeated_reads'] == '1'


def test_poll_schedule_moves_off_the_devices_update_edge(bno_rig, sim_clock):
    """Reads scheduled just before each register update, every 7th of them a tenth of a period
    late: without phase alignment every late read skips a sample and the next one repeats it."""
    rig = bno_rig(lockstep=False, clock=sim_clock, mode_rate_hz=RATE_HZ)
    driver = _bno_driver(rig)
    assert driver.step(sim_clock.ns) == [] and driver.connected
    sim_clock.t = 2.0 + 0.95 * PERIOD_S
    wakeups = 0

    def late_sleep(seconds: float) -> None:
        nonlocal wakeups
        wakeups += 1
        sim_clock.t += seconds + (0.1 * PERIOD_S if wakeups % 7 == 0 else 0.0)

    driver._sleep = late_sleep
    published = []
    stop = threading.Event()

    def publish(reading) -> None:
        published.append(reading)
        if len(published) >= 200:
            stop.set()

    counters = rig.registers.read_counters
    read_before, never_before = counters.reads, counters.never_read
    driver.run(stop, publish, clock_ns=lambda: sim_clock.ns)
    assert driver.phase_shifts >= 1
    assert counters.never_read - never_before <= 1  # at most the one before the first shift
    assert driver.repeated_reads <= 2
    assert counters.reads - read_before == len(published) + driver.repeated_reads
    stamps = [r.stamp_ns for r in published]
    assert all(b > a for a, b in zip(stamps, stamps[1:]))


def _held_up_driver(bno_rig, sim_clock, hold_s):
    """A driver reading a quarter period after each update on the simulated clock, whose n-th
    sample request reaches the device ``hold_s(n)`` late; returns (rig, driver, request count)."""
    rig = bno_rig(lockstep=False, clock=sim_clock, mode_rate_hz=RATE_HZ)
    driver = _bno_driver(rig)
    assert driver.step(sim_clock.ns) == [] and driver.connected
    sim_clock.t = 2.0 + 0.25 * PERIOD_S
    driver._sleep = lambda seconds: setattr(sim_clock, 't', sim_clock.t + seconds)
    io_read = driver.io.read
    requests = [0]

    def held_up_read(register: int, length: int) -> bytes:
        if register == reg.ACC_DATA_X_LSB:
            requests[0] += 1
            sim_clock.t += hold_s(requests[0])
        return io_read(register, length)

    driver.io.read = held_up_read
    return rig, driver, requests


def test_once_just_after_the_update_a_request_held_up_most_of_a_period_loses_nothing(
        bno_rig, sim_clock):
    """Reads start a quarter period after each update; every 7th request reaches the device
    0.8 of a period late (a kernel worker that did not run). At that phase the held-up read
    would take the next sample and lose its own; the schedule creeps to just after the update
    within a few reads, and from there 0.8 of a period late is still in time."""
    rig, driver, requests = _held_up_driver(
        bno_rig, sim_clock, lambda n: 0.8 * PERIOD_S if n % 7 == 0 else 0.0)
    counters = rig.registers.read_counters
    published = []
    never_read_settled = None
    stop = threading.Event()

    def publish(reading) -> None:
        nonlocal never_read_settled
        published.append(reading)
        if len(published) == 10:
            never_read_settled = counters.never_read
        if len(published) >= 300:
            stop.set()

    driver.run(stop, publish, clock_ns=lambda: sim_clock.ns)
    assert requests[0] // 7 >= 40
    assert never_read_settled <= 1            # at most one held-up read before it settled
    assert counters.never_read == never_read_settled
    assert 1 <= driver.phase_shifts <= 4      # found the update, then a rare creep past it
    assert driver.repeated_reads == driver.phase_shifts
    stamps = [r.stamp_ns for r in published]
    assert all(b > a for a, b in zip(stamps, stamps[1:]))


def test_a_repeat_after_a_held_up_read_does_not_move_the_phase(bno_rig, sim_clock):
    """A request held up for more than a period takes the next sample early, so the read
    after it repeats that sample: the phase was right and must stay."""
    _, driver, requests = _held_up_driver(
        bno_rig, sim_clock, lambda n: 1.05 * PERIOD_S if n == 60 else 0.0)
    published = []
    stop = threading.Event()
    before = None

    def publish(reading) -> None:
        nonlocal before
        published.append(reading)
        if len(published) == 50:
            before = (driver.repeated_reads, driver.phase_shifts)
        if len(published) >= 100:
            stop.set()

    driver.run(stop, publish, clock_ns=lambda: sim_clock.ns)
    assert requests[0] > 60
    assert driver.repeated_reads == before[0] + 1   # the read after the held-up one
    assert driver.phase_shifts == before[1]
