"""Reading UDP payloads out of pcap / pcapng captures (dpkt), and writing them.

The reader tolerates what real captures contain: frames that are not UDP (ARP, TCP, IPv6
router chatter), Velodyne position packets on another port, and a file cut short while it
was being written. Each is counted in :class:`InputStats` and skipped; a file that is not a
capture at all raises :class:`SourceError` with what was found instead.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import dpkt

from . import input_stats as reasons
from .errors import SourceError
from .input_stats import InputStats

_PCAP_MAGICS = {dpkt.pcap.TCPDUMP_MAGIC, dpkt.pcap.TCPDUMP_MAGIC_NANO,
                dpkt.pcap.PMUDPCT_MAGIC, dpkt.pcap.PMUDPCT_MAGIC_NANO}
_PCAPNG_MAGIC = 0x0A0D0D0A

DLT_NULL = 0
DLT_EN10MB = 1
DLT_RAW = 101
DLT_LINUX_SLL = 113
DLT_LINUX_SLL2 = 276
_RAW_LINKTYPES = {DLT_RAW, 12, 14}


@dataclass(frozen=True)
class CapturedDatagram:
    timestamp: float
    source: str
    dst_port: int
    payload: bytes


def read_udp_payloads(path: str | Path, *, stats: InputStats,
                      port: int | None = None) -> Iterator[CapturedDatagram]:
    """Yield every UDP datagram in the capture, optionally only those sent to ``port``."""
    path = Path(path)
    try:
        handle = path.open('rb')
    except OSError as exc:
        raise SourceError(f'cannot open pcap file {path}: {exc.strerror}') from exc
    with handle:
        for timestamp, linktype, frame in _frames(handle, path, stats):
            datagram = _udp_of(frame, linktype, timestamp, stats)
            if datagram is None:
                continue
            if port is not None and datagram.dst_port != port:
                stats.drop(reasons.WRONG_PORT, f'UDP to port {datagram.dst_port}, '
                           f'replaying port {port}')
                continue
            yield datagram


def _frames(handle: BinaryIO, path: Path, stats: InputStats) -> Iterator[tuple[float, int, bytes]]:
    head = handle.read(4)
    if len(head) < 4:
        raise SourceError(f'{path} is empty or shorter than a pcap header')
    handle.seek(0)
    magic = struct.unpack('<I', head)[0]
    if magic == _PCAPNG_MAGIC:
        yield from _pcapng_frames(handle, path, stats)
    elif magic in _PCAP_MAGICS:
        yield from _pcap_frames(handle, path, stats, magic)
    else:
        raise SourceError(f'{path} is not a pcap or pcapng capture (starts with bytes '
                          f'{head.hex()}); record one with tcpdump -w or Wireshark')


def _pcap_frames(handle: BinaryIO, path: Path, stats: InputStats, magic: int
                 ) -> Iterator[tuple[float, int, bytes]]:
    try:
        linktype = dpkt.pcap.Reader(handle).datalink()
    except (ValueError, dpkt.UnpackError) as exc:
        raise SourceError(f'{path} has a damaged pcap header: {exc}') from exc
    # dpkt's own iterator hands back a short last record without complaint, so records are
    # read here to notice a capture that was cut off mid-write.
    little = magic in (dpkt.pcap.TCPDUMP_MAGIC, dpkt.pcap.TCPDUMP_MAGIC_NANO)
    nano = magic in (dpkt.pcap.TCPDUMP_MAGIC_NANO, dpkt.pcap.PMUDPCT_MAGIC_NANO)
    header = struct.Struct('<IIII' if little else '>IIII')
    divisor = 1e9 if nano else 1e6
    while True:
        record = handle.read(header.size)
        if not record:
            return
        if len(record) < header.size:
            stats.drop(reasons.TRUNCATED_FILE, f'{path}: last record header cut short')
            return
        sec, frac, caplen, _ = header.unpack(record)
        frame = handle.read(caplen)
        if len(frame) < caplen:
            stats.drop(reasons.TRUNCATED_FILE,
                       f'{path}: last frame has {len(frame)} of {caplen} bytes')
            return
        yield sec + frac / divisor, linktype, frame


def _pcapng_frames(handle: BinaryIO, path: Path, stats: InputStats
                   ) -> Iterator[tuple[float, int, bytes]]:
    try:
        reader = dpkt.pcapng.Reader(handle)
    except (ValueError, dpkt.UnpackError, struct.error) as exc:
        raise SourceError(f'{path} has a damaged pcapng header: {exc}') from exc
    linktype = reader.datalink()
    records = iter(reader)
    while True:
        try:
            timestamp, frame = next(records)
        except StopIteration:
            return
        except (dpkt.NeedData, dpkt.UnpackError, ValueError, struct.error) as exc:
            stats.drop(reasons.TRUNCATED_FILE, f'{path}: damaged block at the end ({exc})')
            return
        yield float(timestamp), linktype, bytes(frame)


def _udp_of(frame: bytes, linktype: int, timestamp: float, stats: InputStats
            ) -> CapturedDatagram | None:
    try:
        if linktype == DLT_EN10MB:
            network = dpkt.ethernet.Ethernet(frame).data
        elif linktype == DLT_LINUX_SLL:
            network = dpkt.sll.SLL(frame).data
        elif linktype == DLT_LINUX_SLL2:
            network = dpkt.sll2.SLL2(frame).data
        elif linktype == DLT_NULL:
            network = dpkt.loopback.Loopback(frame).data
        elif linktype in _RAW_LINKTYPES:
            network = (dpkt.ip6.IP6(frame) if frame[:1] and frame[0] >> 4 == 6
                       else dpkt.ip.IP(frame))
        else:
            stats.drop(reasons.UNSUPPORTED_LINK_TYPE, f'link type {linktype}')
            return None
    # Only dpkt's decoders run above, and on malformed frames they raise more than their own
    # errors (IndexError; AttributeError on a broken IPv6 extension chain, found by fuzzing):
    # whatever they raise, the frame is undecodable.
    except Exception as exc:  # noqa: BLE001 - counted below, never raised into the reader
        stats.drop(reasons.NOT_UDP, f'undecodable frame ({exc.__class__.__name__})')
        return None
    if isinstance(network, dpkt.ip.IP):
        if network.offset & dpkt.ip.IP_OFFMASK or network.mf:
            stats.drop(reasons.NOT_UDP, 'fragmented IPv4 datagram')
            return None
        source = _ip4(network.src)
    elif isinstance(network, dpkt.ip6.IP6):
        source = _ip6(network.src)
    else:
        stats.drop(reasons.NOT_UDP, f'{type(network).__name__} frame, not IP')
        return None
    transport = network.data
    if not isinstance(transport, dpkt.udp.UDP):
        stats.drop(reasons.NOT_UDP, f'IP protocol {type(transport).__name__}, not UDP')
        return None
    return CapturedDatagram(timestamp, source, transport.dport, bytes(transport.data))


def _ip4(raw: bytes) -> str:
    return '.'.join(str(b) for b in raw)


def _ip6(raw: bytes) -> str:
    return str(ipaddress.IPv6Address(raw))


def write_udp_pcap(path: str | Path, datagrams: list[tuple[float, bytes]], *,
                   src: str = '192.168.1.201', dst: str = '255.255.255.255',
                   src_port: int = 2368, dst_port: int = 2368) -> None:
    """Write payloads as Ethernet/IPv4/UDP frames, the way tcpdump records a Velodyne."""
    src_ip = bytes(int(x) for x in src.split('.'))
    dst_ip = bytes(int(x) for x in dst.split('.'))
    with Path(path).open('wb') as handle:
        writer = dpkt.pcap.Writer(handle, linktype=DLT_EN10MB)
        for timestamp, payload in datagrams:
            udp = dpkt.udp.UDP(sport=src_port, dport=dst_port, data=payload)
            udp.ulen = len(udp)
            ip = dpkt.ip.IP(src=src_ip, dst=dst_ip, p=dpkt.ip.IP_PROTO_UDP, data=udp, ttl=64)
            ip.len = len(ip)
            frame = dpkt.ethernet.Ethernet(src=b'\x60\x76\x88\x00\x00\x01',
                                           dst=b'\xff\xff\xff\xff\xff\xff',
                                           type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
            writer.writepkt(bytes(frame), ts=timestamp)
