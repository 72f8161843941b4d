"""The Velodyne data packet layout and vectorized validation of batches of datagrams.

A data packet is the 1206-byte UDP payload: 12 blocks of (flag 0xFFEE, azimuth in 0.01 deg,
32 x (distance, reflectivity)), a 4-byte timestamp in microseconds past the top of the hour
and two factory bytes (return mode, product id). All fields are little-endian.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from . import input_stats as reasons
from .input_stats import InputStats
from .models import BLOCKS_PER_PACKET, MODEL_BY_PRODUCT_ID, SLOTS_PER_BLOCK, \
    UNSUPPORTED_PRODUCT_IDS, ReturnMode, SensorModel

PACKET_SIZE = 1206
#: Flag bytes FF EE read as a little-endian uint16.
BLOCK_FLAG = 0xEEFF
AZIMUTH_UNITS = 36000
TIMESTAMP_WRAP_US = 3_600_000_000

RETURN_DTYPE = np.dtype([('distance', '<u2'), ('reflectivity', 'u1')])
BLOCK_DTYPE = np.dtype([('flag', '<u2'), ('azimuth', '<u2'),
                        ('returns', RETURN_DTYPE, (SLOTS_PER_BLOCK,))])
PACKET_DTYPE = np.dtype([('blocks', BLOCK_DTYPE, (BLOCKS_PER_PACKET,)),
                         ('timestamp', '<u4'), ('return_mode', 'u1'), ('product_id', 'u1')])
assert PACKET_DTYPE.itemsize == PACKET_SIZE

_PACKET_SIZES = frozenset((PACKET_SIZE,))
_KNOWN_PRODUCT = np.zeros(256, dtype=bool)
_KNOWN_PRODUCT[list(MODEL_BY_PRODUCT_ID)] = True
_KNOWN_RETURN_MODE = np.zeros(256, dtype=bool)
_KNOWN_RETURN_MODE[[int(m) for m in ReturnMode]] = True


@dataclass(frozen=True)
class PacketRun:
    """Consecutive valid packets that share one model and return mode."""

    packets: np.ndarray  # PACKET_DTYPE, shape (n,)
    recv_times: np.ndarray  # float64 host receive times, shape (n,)
    model: SensorModel
    mode: ReturnMode


def as_packet_array(packets: Sequence[bytes]) -> np.ndarray:
    """View a sequence of 1206-byte payloads as a PACKET_DTYPE array (one copy, no parsing)."""
    return np.frombuffer(b''.join(packets), dtype=PACKET_DTYPE)


def validate(packets: Sequence[bytes], recv_times: np.ndarray, *, stats: InputStats,
             model: SensorModel | None = None, mode: ReturnMode | None = None,
             ) -> list[PacketRun]:
    """Drop (and count) malformed datagrams; split the rest into runs of one model and mode.

    ``model``/``mode`` given: packets announcing something else are dropped as mismatches,
    except that a zero product byte (HDL-32E firmware older than the factory bytes) is taken
    to be the configured model in strongest mode.
    """
    if not _PACKET_SIZES.issuperset(map(len, packets)):
        sized = [i for i, p in enumerate(packets) if len(p) == PACKET_SIZE]
        bad = next(p for p in packets if len(p) != PACKET_SIZE)
        stats.drop(reasons.WRONG_LENGTH, f'{len(bad)} bytes, expected {PACKET_SIZE}',
                   len(packets) - len(sized))
        packets = [packets[i] for i in sized]
        recv_times = recv_times[sized]
    if not packets:
        return []
    arr = as_packet_array(packets)
    flags = arr['blocks']['flag']
    azimuths = arr['blocks']['azimuth']
    first_product, first_mode = int(arr['product_id'][0]), int(arr['return_mode'][0])
    if (first_product in MODEL_BY_PRODUCT_ID and _KNOWN_RETURN_MODE[first_mode]
            and (model is None or model.product_id == first_product)
            and (mode is None or int(mode) == first_mode)
            and (arr['product_id'] == first_product).all()
            and (arr['return_mode'] == first_mode).all()
            and (flags == BLOCK_FLAG).all() and (azimuths < AZIMUTH_UNITS).all()):
        # The normal case: one sensor, all packets well-formed.
        return [PacketRun(arr, recv_times, MODEL_BY_PRODUCT_ID[first_product],
                          ReturnMode(first_mode))]

    keep = np.ones(len(arr), dtype=bool)
    bad_flag = (flags != BLOCK_FLAG).any(axis=1)
    _drop(stats, keep, bad_flag, reasons.BAD_BLOCK_FLAG,
          lambda i: f'block flag {int(flags[i][flags[i] != BLOCK_FLAG][0]):#06x}, '
                    f'expected {BLOCK_FLAG:#06x}')
    _drop(stats, keep, (azimuths >= AZIMUTH_UNITS).any(axis=1), reasons.BAD_AZIMUTH,
          lambda i: f'azimuth {int(azimuths[i].max()) / 100:.2f} deg >= 360')

    product = arr['product_id'].astype(np.intp)
    ret = arr['return_mode'].astype(np.intp)
    if model is not None:
        legacy = product == 0
        product = np.where(legacy, model.product_id, product)
        ret = np.where(legacy & (ret == 0), int(ReturnMode.STRONGEST), ret)
    known_product = _KNOWN_PRODUCT[product]
    _drop(stats, keep, ~known_product, reasons.UNKNOWN_PRODUCT,
          lambda i: _describe_product(int(product[i])))
    known_mode = _KNOWN_RETURN_MODE[ret]
    _drop(stats, keep, ~known_mode, reasons.UNKNOWN_RETURN_MODE,
          lambda i: f'return-mode byte {int(ret[i]):#04x}')
    if model is not None:
        _drop(stats, keep, product != model.product_id, reasons.MODEL_MISMATCH,
              lambda i: f'packet from a {_describe_product(int(product[i]))}, driver '
                        f'configured for {model.name} (set model to "auto" or fix it)')
    if mode is not None:
        _drop(stats, keep, ret != int(mode), reasons.RETURN_MODE_MISMATCH,
              lambda i: f'sensor sends {ReturnMode(int(ret[i])).label} returns, driver '
                        f'configured for {mode.label} (set return_mode to "auto" or fix it)')

    if not keep.all():
        # Opaque records: numpy copies structured dtypes field by field, far slower.
        arr = arr.view(np.dtype((np.void, PACKET_SIZE)))[keep].view(PACKET_DTYPE)
        recv_times = recv_times[keep]
        product, ret = product[keep], ret[keep]
    if len(arr) == 0:
        return []
    key = product * 256 + ret
    starts = np.flatnonzero(np.diff(key)) + 1
    bounds = [0, *starts.tolist(), len(arr)]
    return [PacketRun(arr[a:b], recv_times[a:b], MODEL_BY_PRODUCT_ID[int(product[a])],
                      ReturnMode(int(ret[a])))
            for a, b in zip(bounds[:-1], bounds[1:])]


def _drop(stats: InputStats, keep: np.ndarray, bad: np.ndarray, reason: str, describe) -> None:
    newly_bad = keep & bad
    count = int(newly_bad.sum())
    if count:
        stats.drop(reason, describe(int(np.argmax(newly_bad))), count)
        keep &= ~bad


def _describe_product(product_id: int) -> str:
    if product_id in MODEL_BY_PRODUCT_ID:
        return MODEL_BY_PRODUCT_ID[product_id].name
    if product_id in UNSUPPORTED_PRODUCT_IDS:
        name = UNSUPPORTED_PRODUCT_IDS[product_id]
        return f'{name} (product id {product_id:#04x}, not supported)'
    return f'unknown product id {product_id:#04x}'
