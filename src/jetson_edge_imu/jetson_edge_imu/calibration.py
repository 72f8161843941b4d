"""BNO055 calibration offsets: decoding the 22-byte register block, status, and persistence.

The BNO055 has no non-volatile memory for its calibration (data sheet 3.11.4): the host reads
the offsets once the device reports full calibration, stores them, and writes them back in
CONFIG mode after every power-on. The file is JSON, written atomically.
"""

from __future__ import annotations

import json
import struct
from dataclasses import asdict, dataclass
from pathlib import Path

from jetson_edge_common.files import atomic_write_bytes
from jetson_edge_imu.bno055_registers import CALIBRATION_BLOCK_LENGTH
from jetson_edge_imu.errors import CalibrationFileError, CalibrationSaveError

_LAYOUT = struct.Struct('<11h')
FILE_FORMAT = 'jetson_edge_imu/bno055_calibration/1'


@dataclass(frozen=True, slots=True)
class CalibrationStatus:
    """CALIB_STAT: each field 0 (uncalibrated) .. 3 (fully calibrated)."""

    system: int
    gyro: int
    accel: int
    mag: int

    @classmethod
    def from_byte(cls, value: int) -> 'CalibrationStatus':
        return cls((value >> 6) & 3, (value >> 4) & 3, (value >> 2) & 3, value & 3)

    def fully_calibrated(self, *, need_mag: bool) -> bool:
        return self.gyro == 3 and self.accel == 3 and (self.mag == 3 or not need_mag) and (
            self.system == 3 or not need_mag)


@dataclass(frozen=True, slots=True)
class CalibrationOffsets:
    """Offsets in device LSBs (the units the registers hold)."""

    accel: tuple[int, int, int]
    mag: tuple[int, int, int]
    gyro: tuple[int, int, int]
    accel_radius: int
    mag_radius: int

    @classmethod
    def from_bytes(cls, block: bytes) -> 'CalibrationOffsets':
        if len(block) != CALIBRATION_BLOCK_LENGTH:
            raise ValueError(f'calibration block is {CALIBRATION_BLOCK_LENGTH} bytes, '
                             f'got {len(block)}')
        v = _LAYOUT.unpack(block)
        return cls(v[0:3], v[3:6], v[6:9], v[9], v[10])

    def to_bytes(self) -> bytes:
        return _LAYOUT.pack(*self.accel, *self.mag, *self.gyro, self.accel_radius, self.mag_radius)


def save_offsets(path: Path | str, offsets: CalibrationOffsets, *, device_id: str = '') -> None:
    """Write offsets to ``path`` atomically (temp file in the same directory, then rename);
    ``CalibrationSaveError`` names the path and the OS error when that fails."""
    path = Path(path)
    document = {'format': FILE_FORMAT, 'device_id': device_id, 'offsets': asdict(offsets)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, json.dumps(document, indent=2).encode())
    except OSError as exc:
        code = f'[Errno {exc.errno}] ' if exc.errno else ''
        where = f' ({exc.filename})' if exc.filename and str(exc.filename) != str(path) else ''
        raise CalibrationSaveError(f'cannot save calibration to {path}: '
                                   f'{code}{exc.strerror or exc}{where}') from exc


def load_offsets(path: Path | str) -> CalibrationOffsets | None:
    """Offsets from ``path``; ``None`` if the file does not exist (a first start)."""
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise CalibrationFileError(f'cannot read calibration file {path}: {exc}; delete it to '
                                   'recalibrate from scratch') from exc
    try:
        if document['format'] != FILE_FORMAT:
            raise ValueError(f"unknown format {document['format']!r}")
        o = document['offsets']
        offsets = CalibrationOffsets(tuple(o['accel']), tuple(o['mag']), tuple(o['gyro']),
                                     int(o['accel_radius']), int(o['mag_radius']))
        offsets.to_bytes()  # range check: every value must fit an int16 register pair
        if any(len(v) != 3 for v in (offsets.accel, offsets.mag, offsets.gyro)):
            raise ValueError('offset vectors need three components')
    except (KeyError, TypeError, ValueError, struct.error) as exc:
        raise CalibrationFileError(f'calibration file {path} does not validate: {exc}; '
                                   'delete it to recalibrate from scratch') from exc
    return offsets
