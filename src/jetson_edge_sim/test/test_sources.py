"""UDP over real loopback sockets, pcap replay through the same driver loop."""

import socket
import threading
import time
from pathlib import Path

import dpkt
import pytest

from jetson_edge_lidar.config import DecoderConfig
from jetson_edge_lidar.decoder import VelodyneDecoder
from jetson_edge_lidar import sources
from jetson_edge_lidar.driver import READ_AFTER_CUT_S, LidarDriver
from jetson_edge_lidar.errors import SourceError
from jetson_edge_lidar.input_stats import InputStats
from jetson_edge_lidar.models import MODELS, VLP16, ReturnMode
from jetson_edge_lidar.pcap import read_udp_payloads, write_udp_pcap
from jetson_edge_lidar.sources import PcapSource, UdpSource
from jetson_edge_sim.lidar.virtual_sensor import SimulatedVelodyne, VirtualVelodyne


def _drive(source, *, until, timeout_s=10.0):
    driver = LidarDriver(source, VelodyneDecoder(DecoderConfig(), stats=source.stats))
    scans = []
    deadline = time.monotonic() + timeout_s
    while not until(scans, driver) and time.monotonic() < deadline:
        scans += driver.poll(0.05)
    return driver, scans


def test_virtual_sensor_to_udp_source_over_loopback():
    with UdpSource(port=0, address='127.0.0.1') as source:
        assert source.rcvbuf_bytes > 0
        sensor = SimulatedVelodyne(VLP16)
        stop = threading.Event()
        with VirtualVelodyne(sensor, host='127.0.0.1', port=source.address[1]) as virtual:
            sender = threading.Thread(target=virtual.run, args=(stop,), daemon=True)
            sender.start()
            try:
                driver, scans = _drive(source, until=lambda s, d: len(s) >= 4)
            finally:
                stop.set()
                sender.join(5)
    assert len(scans) >= 4
    assert all(s.complete for s in scans[1:])
    assert all(20_000 < len(s) < 40_000 for s in scans[1:])
    snap = source.stats.snapshot()
    assert snap.dropped == 0 and snap.packets >= 3 * 75
    # Stamps come from the virtual sensor's device clock: within a scan of the host's.
    assert abs(scans[-1].device_stamp - scans[-1].host_stamp) < 0.05


def test_garbage_datagrams_are_counted_and_skipped():
    sensor = SimulatedVelodyne(VLP16)
    with UdpSource(port=0, address='127.0.0.1') as source, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        target = ('127.0.0.1', source.address[1])
        for i, packet in enumerate(sensor.next_packets(300)):
            tx.sendto(packet, target)
            if i % 10 == 0:
                tx.sendto(b'garbage', target)
                tx.sendto(bytes(1206), target)
        driver, scans = _drive(source, until=lambda s, d: d.decoder.stats.received >= 360,
                               timeout_s=5)
        scans += driver.decoder.finish()
    drops = source.stats.snapshot().drops
    assert drops == {'wrong_length': 30, 'bad_block_flag': 30}
    assert source.stats.snapshot().packets == 300
    assert len(scans) >= 4


def test_sensor_ip_filter_counts_other_senders():
    with UdpSource(port=0, address='127.0.0.1', sensor_ip='192.168.1.201') as source, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        tx.sendto(b'x' * 1206, ('127.0.0.1', source.address[1]))
        time.sleep(0.05)
        assert len(source.receive(0.5)) == 0
    assert source.stats.snapshot().drops == {'wrong_sender': 1}


def test_batched_packets_carry_their_kernel_arrival_times():
    packets = SimulatedVelodyne(VLP16).next_packets(3)
    with UdpSource(port=0, address='127.0.0.1', batch_window_s=0.05) as source, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        target = ('127.0.0.1', source.address[1])
        tx.sendto(packets[0], target)
        between = time.time()
        tx.sendto(packets[1], target)
        batch = source.receive(5.0)
        read_at = time.time()
        # Streaming now: the next read waits out the window, then takes what came.
        tx.sendto(packets[2], target)
        sent_at = time.time()
        later = source.receive(5.0)
    # Both read in one batch, each stamped when it arrived, not when it was read.
    assert len(batch) == 2
    assert batch.recv_times[0] <= between <= batch.recv_times[1] <= read_at
    assert later.packets == [packets[2]] and read_at <= later.recv_times[0] <= sent_at


def test_reads_wait_as_asked_within_the_window_and_drain_a_backlog_at_once(monkeypatch):
    packets = SimulatedVelodyne(VLP16).next_packets(10)
    slept = []
    monkeypatch.setattr(sources.time, 'sleep', slept.append)
    with UdpSource(port=0, address='127.0.0.1', batch_window_s=0.05, max_batch=4) as source, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        for packet in packets:
            tx.sendto(packet, ('127.0.0.1', source.address[1]))
        assert len(source.receive(5.0)) == 4  # select: the first packet is there
        # Six more were queued when the read stopped at max_batch: no waiting for them.
        assert len(source.receive(5.0, read_after_s=0.03)) == 4
        assert len(source.receive(5.0, read_after_s=0.03)) == 2
        assert slept == []
        tx.sendto(packets[0], ('127.0.0.1', source.address[1]))
        assert len(source.receive(5.0, read_after_s=0.03)) == 1
        assert len(source.receive(5.0, read_after_s=9.0)) == 0  # capped at the window
    assert slept == [0.03, 0.05]


def test_driver_times_reads_to_the_scan_end_within_the_socket_buffer():
    sensor = SimulatedVelodyne(VLP16, rpm=600, start_time_s=1.7e9, start_azimuth_deg=90.0)
    firings = sensor.firings(100)
    packets = sensor.next_packets(100)
    recv = list(firings.time_s[:, -1, -1])
    fastest = max(m.packet_rate_hz(mode) for m in MODELS for mode in ReturnMode)
    rotation = VLP16.packet_rate_hz(ReturnMode.STRONGEST) * 0.1  # packets per turn
    buffer_binds = []
    for rcvbuf in (65536, 8 << 20):
        with UdpSource(port=0, address='127.0.0.1', rcvbuf_bytes=rcvbuf) as source:
            now = [recv[0]]
            driver = LidarDriver(source, VelodyneDecoder(stats=source.stats),
                                 clock=lambda: now[0])
            # No packet yet: only the socket buffer bounds the wait, at the fastest stream.
            buffer_s = source.capacity_packets / fastest / 2
            assert driver.read_after_s() == pytest.approx(buffer_s)
            # Half a rotation, from 90 to 270 degrees: the cut (0) comes in 0.025 s.
            half = round(rotation / 2)
            driver.decoder.decode_batch(packets[:half], recv_times=recv[:half])
            now[0] = recv[half - 1] + 0.001
            until_cut = 0.025 - 0.001 + READ_AFTER_CUT_S
            assert driver.read_after_s() == pytest.approx(min(buffer_s, until_cut), abs=2e-3)
            # Past the cut the model is known: its own packet rate sets the buffer's bound.
            driver.decoder.decode_batch(packets[half:], recv_times=recv[half:])
            now[0] = recv[-1]
            buffer_s = source.capacity_packets / VLP16.packet_rate_hz(ReturnMode.STRONGEST) / 2
            until_cut = (1 - (0.25 + 100 / rotation) % 1) * 0.1 + READ_AFTER_CUT_S
            assert driver.read_after_s() == pytest.approx(min(buffer_s, until_cut), abs=2e-3)
            buffer_binds.append(buffer_s < until_cut)
    # Both bounds were tried: the small buffer's and the cut's.
    assert buffer_binds == [True, False]


def test_negative_batch_window_is_refused():
    with pytest.raises(SourceError, match='batch window'):
        UdpSource(port=0, address='127.0.0.1', batch_window_s=-0.01)


def test_port_in_use_is_a_clear_error():
    with UdpSource(port=0, address='127.0.0.1') as first:
        with pytest.raises(SourceError, match='already uses it'):
            UdpSource(port=first.address[1], address='127.0.0.1')


@pytest.fixture
def synthetic_pcap(tmp_path: Path) -> Path:
    sensor = SimulatedVelodyne(VLP16, start_time_s=1.7e9)
    packets = sensor.next_packets(160)
    path = tmp_path / 'vlp16.pcap'
    write_udp_pcap(path, [(1.7e9 + i * sensor.packet_period_s, p) for i, p in enumerate(packets)])
    return path


def test_pcap_replay_as_fast_as_possible_matches_direct_decoding(synthetic_pcap):
    payloads = [d.payload for d in read_udp_payloads(synthetic_pcap, stats=InputStats())]
    direct = VelodyneDecoder()
    expected = [len(s) for s in direct.decode_batch(payloads) + direct.finish()]
    source = PcapSource(synthetic_pcap, rate=0)
    driver, scans = _drive(source, until=lambda s, d: d.finished)
    assert [len(s) for s in scans] == expected
    assert source.exhausted and driver.finished


def test_pcap_replay_paces_by_capture_time_and_loops(synthetic_pcap):
    now = [100.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    source = PcapSource(synthetic_pcap, rate=2.0, loop=True, clock=lambda: now[0],
                        wall_clock=lambda: now[0], sleep=sleep)
    received = 0
    while received < 400:
        received += len(source.receive(0.01))
    # 400 packets at twice the recorded 754/s take about 0.265 s of (fake) time.
    assert now[0] - 100.0 == pytest.approx(400 / 2 / 753.5, rel=0.05)
    assert source.passes == 3 and not source.exhausted


def test_recorded_fixture_replays_through_the_driver(fixture_pcap):
    source = PcapSource(fixture_pcap, rate=0)
    driver, scans = _drive(source, until=lambda s, d: d.finished)
    assert sum(len(s) > 20_000 for s in scans) >= 2
    assert source.stats.snapshot().dropped == 0


def test_not_a_pcap_is_refused(tmp_path):
    path = tmp_path / 'notes.pcap'
    path.write_text('this is not a capture')
    with pytest.raises(SourceError, match='not a pcap'):
        PcapSource(path)
    with pytest.raises(SourceError, match='cannot open'):
        PcapSource(tmp_path / 'missing.pcap')


@pytest.mark.parametrize('option, value', [
    (dpkt.pcapng.PCAPNG_OPT_IF_TSRESOL, b''),
    (dpkt.pcapng.PCAPNG_OPT_IF_TSOFFSET, b'\x01\x02'),
])
def test_pcapng_with_a_damaged_interface_option_is_refused(tmp_path, option, value):
    # Found by the pcap_file fuzzer: dpkt's reader raised struct.error on an option too short.
    idb = dpkt.pcapng.InterfaceDescriptionBlockLE(opts=[
        dpkt.pcapng.PcapngOptionLE(code=option, data=value),
        dpkt.pcapng.PcapngOptionLE(code=dpkt.pcapng.PCAPNG_OPT_ENDOFOPT)])
    path = tmp_path / 'damaged.pcapng'
    with path.open('wb') as handle:
        dpkt.pcapng.Writer(handle, idb=idb)
    with pytest.raises(SourceError, match='damaged pcapng header'):
        PcapSource(path)


def test_truncated_capture_keeps_what_is_complete(synthetic_pcap, tmp_path):
    data = synthetic_pcap.read_bytes()
    cut = tmp_path / 'cut.pcap'
    cut.write_bytes(data[:-600])
    stats = InputStats()
    payloads = list(read_udp_payloads(cut, stats=stats))
    assert len(payloads) == 159
    assert stats.snapshot().drops == {'truncated_file': 1}


def test_non_udp_frames_and_other_ports_are_counted(tmp_path):
    sensor = SimulatedVelodyne(VLP16, start_time_s=1.7e9)
    path = tmp_path / 'mixed.pcap'
    with path.open('wb') as handle:
        writer = dpkt.pcap.Writer(handle)
        arp = dpkt.ethernet.Ethernet(type=dpkt.ethernet.ETH_TYPE_ARP, data=dpkt.arp.ARP())
        tcp = dpkt.ip.IP(p=dpkt.ip.IP_PROTO_TCP, data=dpkt.tcp.TCP(), src=b'\x01' * 4,
                         dst=b'\x02' * 4)
        writer.writepkt(bytes(arp), ts=1.0)
        writer.writepkt(bytes(dpkt.ethernet.Ethernet(type=dpkt.ethernet.ETH_TYPE_IP,
                                                     data=tcp)), ts=1.1)
    position = tmp_path / 'position.pcap'
    write_udp_pcap(position, [(1.2, b'\x00' * 512)], dst_port=8308)
    data = path.read_bytes() + position.read_bytes()[24:]
    for i, packet in enumerate(sensor.next_packets(3)):
        single = tmp_path / f'p{i}.pcap'
        write_udp_pcap(single, [(2.0 + i, packet)])
        data += single.read_bytes()[24:]
    path.write_bytes(data)
    stats = InputStats()
    payloads = list(read_udp_payloads(path, stats=stats, port=2368))
    assert len(payloads) == 3
    assert stats.snapshot().drops == {'not_udp': 2, 'wrong_port': 1}


def test_pcapng_captures_replay_too(synthetic_pcap, tmp_path):
    frames = list(dpkt.pcap.Reader(synthetic_pcap.open('rb')))
    path = tmp_path / 'vlp16.pcapng'
    with path.open('wb') as handle:
        writer = dpkt.pcapng.Writer(handle, snaplen=65535)
        for timestamp, frame in frames:
            writer.writepkt(frame, ts=timestamp)
    stats = InputStats()
    payloads = list(read_udp_payloads(path, stats=stats))
    assert len(payloads) == len(frames) == 160
    assert payloads[5].timestamp - payloads[4].timestamp == pytest.approx(0.0013271, abs=1e-5)
    assert stats.snapshot().dropped == 0
