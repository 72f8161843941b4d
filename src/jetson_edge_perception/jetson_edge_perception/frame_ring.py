"""A shared-memory ring of camera frames, for a camera and a perception node on one host.

The camera writes each frame into the next slot of a ring (a file under /dev/shm, mapped by both
processes) and publishes a small FrameSlot message naming the ring, the slot and the sequence
number the slot got; the reader copies the pixels out and checks that the slot still holds that
sequence. The 1.3 MB frame then never goes through DDS: only ~100 bytes do.

Layout (little endian): a 64-byte ring header (magic, slot count, slot capacity), then the slots,
each a 64-byte slot header (sequence, height, width, step, data length, encoding) and the pixels.
Slots are sized from the first frame; a larger frame makes a new ring under a new name, and the
previous ring stays until the one after (or the end), so a FrameSlot still in flight finds it.

Sequence numbers are a seqlock per slot: the writer stores an odd number before it touches the
slot and the even number `2 * (frame + 1)` after it, and the message carries the even one. A
reader that finds another number before or after its copy knows the slot was overwritten (the
ring lapped it) or was being written (torn), and drops the frame as such; it never uses
pixels it has not verified. Python puts no memory barrier between the stores: x86 makes them
visible in order; on ARM the announced frame is ordered by the DDS send and receive (system calls)
between the writer's last store and the reader's first load, and a slot rewritten during a copy
still shows a sequence other than the announced one by the time the copy ends.
"""

from __future__ import annotations

import mmap
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import FrameError

RING_DIR = Path('/dev/shm')
MAGIC = b'JEFRING1'
_RING_HEADER = struct.Struct('<8sII')  # magic, slot count, slot capacity (pixel bytes)
_SLOT_FIELDS = struct.Struct('<IIII16s')  # height, width, step, data length, encoding (after the sequence)
HEADER_BYTES = 64  # the ring header and each slot header, so pixels start 64-byte aligned
MAX_SLOTS = 64
_NAME = re.compile(r'[A-Za-z0-9_.-]{1,200}')


def slot_topic(image_topic: str) -> str:
    """The FrameSlot topic of a camera's image topic (a sub-topic, as image_transport names its transports)."""
    return f'{image_topic.rstrip("/")}/shm'


def remove_stale_rings(owner: str, directory: Path = RING_DIR) -> list[str]:
    """Remove the rings a writer named ``{owner}_{pid}.{generation}`` left when it was killed
    (SIGKILL gives no chance to clean up, and each ring holds slots of whole frames in RAM):
    those whose pid no longer runs on this host. Returns the names removed."""
    stale = re.compile(re.escape(owner) + r'_(\d+)\.\d+')
    removed = []
    for path in directory.glob(f'{owner}_*'):
        found = stale.fullmatch(path.name)
        if found is None or int(found.group(1)) == os.getpid() or _alive(int(found.group(1))):
            continue
        path.unlink(missing_ok=True)
        removed.append(path.name)
    return sorted(removed)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


@dataclass(frozen=True)
class SlotRef:
    """What the FrameSlot message carries besides its header: where the frame lies and its sequence."""

    ring: str
    slot: int
    sequence: int


@dataclass
class _Stamp:
    sec: int = 0
    nanosec: int = 0


@dataclass
class RingHeader:
    stamp: object
    frame_id: str


@dataclass
class RingFrame:
    """A frame copied out of the ring, with the fields of a sensor_msgs/Image (`frames.ImageLike`)."""

    header: object
    encoding: str
    height: int
    width: int
    step: int
    data: np.ndarray
    is_bigendian: int = 0


def _slot_stride(capacity: int) -> int:
    return HEADER_BYTES + -(-capacity // HEADER_BYTES) * HEADER_BYTES


def _sequences(buffer: mmap.mmap, count: int, stride: int) -> np.ndarray:
    # One aligned 8-byte word per slot: a numpy element store is a single store instruction.
    return np.ndarray((count,), dtype='<u8', buffer=buffer, offset=HEADER_BYTES, strides=(stride,))


class FrameRingWriter:
    """The camera's side. Thread contract: one writer thread; `write` never blocks on readers."""

    def __init__(self, prefix: str, *, slots: int, directory: Path = RING_DIR) -> None:
        if not 1 <= slots <= MAX_SLOTS:
            raise ValueError(f'a frame ring needs 1 to {MAX_SLOTS} slots, not {slots}')
        if not _NAME.fullmatch(prefix):
            raise ValueError(f'ring name prefix {prefix!r} may hold only letters, digits, _ . -')
        self.prefix, self.slots, self.directory = prefix, slots, directory
        self.name = ''
        self._generation = 0
        self._frames = 0
        self._map: mmap.mmap | None = None
        self._capacity = 0
        self._previous: tuple[str, mmap.mmap] | None = None

    def write(self, image: np.ndarray, encoding: str) -> SlotRef:
        """Copy `image` ((H, W) or (H, W, C) uint8) into the next slot; the reference to publish."""
        if image.dtype != np.uint8 or image.ndim not in (2, 3) or not image.size:
            raise ValueError(f'a ring frame is a non-empty (H, W[, C]) uint8 array, not {image.dtype} {image.shape}')
        encoded = encoding.encode('ascii')
        if len(encoded) > 16:
            raise ValueError(f'encoding {encoding!r} is longer than 16 bytes')
        height, width = image.shape[:2]
        step = image.size // height
        if image.nbytes > self._capacity:
            self._create(image.nbytes)
        slot = self._frames % self.slots
        sequence = 2 * (self._frames + 1)
        base = HEADER_BYTES + slot * self._stride
        self._seq[slot] = sequence - 1  # odd: being written
        _SLOT_FIELDS.pack_into(self._map, base + 8, height, width, step, image.nbytes, encoded)
        self._pixels[slot, :image.nbytes] = np.ascontiguousarray(image).reshape(-1)
        self._seq[slot] = sequence
        self._frames += 1
        return SlotRef(self.name, slot, sequence)

    def _create(self, frame_bytes: int) -> None:
        self._drop_previous()
        if self._map is not None:
            self._seq = self._pixels = None
            self._previous = (self.name, self._map)
            self._map, self._capacity = None, 0
        self._generation += 1
        self.name = f'{self.prefix}.{self._generation}'
        stride = _slot_stride(frame_bytes)
        size = HEADER_BYTES + self.slots * stride
        path = self.directory / self.name
        path.unlink(missing_ok=True)  # left by a killed process that had this pid
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            # reserved now: a sparse file on a full tmpfs would fail later as SIGBUS on a pixel write
            os.posix_fallocate(fd, 0, size)
            buffer = mmap.mmap(fd, size)
        except OSError:
            path.unlink(missing_ok=True)
            raise
        finally:
            os.close(fd)
        _RING_HEADER.pack_into(buffer, 0, MAGIC, self.slots, frame_bytes)
        self._map, self._capacity, self._stride = buffer, frame_bytes, stride
        self._seq = _sequences(buffer, self.slots, stride)
        self._pixels = np.ndarray((self.slots, frame_bytes), np.uint8, buffer=buffer, offset=2 * HEADER_BYTES,
                                  strides=(stride, 1))

    def _drop_previous(self) -> None:
        if self._previous is not None:
            self._remove(*self._previous)
            self._previous = None

    def _remove(self, name: str, buffer: mmap.mmap) -> None:
        buffer.close()
        try:
            (self.directory / name).unlink()
        except FileNotFoundError:
            pass

    def close(self) -> None:
        """Unmap and remove the rings; readers that still map one keep their mapping until they let go."""
        self._drop_previous()
        if self._map is not None:
            self._seq = self._pixels = None
            self._remove(self.name, self._map)
            self._map = None


class FrameRingReader:
    """The perception side: `read(ref, ...)` -> a verified copy, or FrameError saying why not.

    Drop reasons: `ring_missing` (no such ring on this host: the camera runs elsewhere or ended),
    `ring_bad` (a name, header or slot that does not fit the file), `ring_overwritten` (the ring
    lapped the slot before it was read), `ring_torn` (the slot changed while it was copied).
    Thread contract: one reading thread.
    """

    def __init__(self, *, directory: Path = RING_DIR, max_bytes: int | None = None) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self._name = ''
        self._map: mmap.mmap | None = None
        self.frames_read = 0  # a ring missing after frames were read was replaced, not elsewhere

    def read(self, ref: SlotRef, *, stamp: object = None, frame_id: str = '') -> RingFrame:
        self._open(ref.ring)
        if not 0 <= ref.slot < self._slots:
            raise FrameError('ring_bad', f'slot {ref.slot} is not in ring {ref.ring} of {self._slots} slots')
        before = int(self._seq[ref.slot])
        self._check_sequence(ref, before)
        base = HEADER_BYTES + ref.slot * self._stride
        height, width, step, length, encoded = _SLOT_FIELDS.unpack_from(self._map, base + 8)
        if length > self._capacity or (self.max_bytes is not None and length > self.max_bytes):
            raise FrameError('ring_bad', f'slot {ref.slot} of {ref.ring} claims {length} bytes; '
                                         f'the slot holds {self._capacity}')
        data = self._pixels[ref.slot, :length].copy()
        after = int(self._seq[ref.slot])
        if after != before:
            raise FrameError('ring_torn', f'slot {ref.slot} of {ref.ring} was rewritten while it was read '
                                          f'(sequence {before} -> {after})')
        encoding = encoded.rstrip(b'\0').decode('ascii', errors='replace')
        self.frames_read += 1
        return RingFrame(RingHeader(stamp if stamp is not None else _Stamp(), frame_id), encoding, height, width,
                         step, data)

    @staticmethod
    def _check_sequence(ref: SlotRef, found: int) -> None:
        if found == ref.sequence:
            return
        if found > ref.sequence:
            raise FrameError('ring_overwritten', f'slot {ref.slot} of {ref.ring} holds a newer frame '
                                                 f'(sequence {found}, wanted {ref.sequence}): the ring lapped it')
        if found == ref.sequence - 1:
            raise FrameError('ring_torn', f'slot {ref.slot} of {ref.ring} is still being written')
        raise FrameError('ring_bad', f'slot {ref.slot} of {ref.ring} holds sequence {found}, older than the '
                                     f'{ref.sequence} announced (a restarted camera?)')

    def _open(self, name: str) -> None:
        if name == self._name and self._map is not None:
            return
        if not _NAME.fullmatch(name):
            raise FrameError('ring_bad', f'ring name {name!r} is not a plain file name')
        self.close()
        try:
            fd = os.open(self.directory / name, os.O_RDONLY)
        except FileNotFoundError as exc:
            raise FrameError('ring_missing', f'no frame ring {name} in {self.directory}: the camera runs on '
                                             'another host or has ended') from exc
        except OSError as exc:
            raise FrameError('ring_missing', f'cannot open frame ring {self.directory / name}: {exc}') from exc
        try:
            size = os.fstat(fd).st_size
            if size < HEADER_BYTES:
                raise FrameError('ring_bad', f'{name} is {size} bytes, too short for a frame ring')
            buffer = mmap.mmap(fd, size, prot=mmap.PROT_READ)
        finally:
            os.close(fd)
        magic, slots, capacity = _RING_HEADER.unpack_from(buffer, 0)
        stride = _slot_stride(capacity)
        if magic != MAGIC or not 1 <= slots <= MAX_SLOTS or HEADER_BYTES + slots * stride > size:
            buffer.close()
            raise FrameError('ring_bad', f'{name} is not a frame ring of this version, or is cut short '
                                         f'({slots} slots of {capacity} bytes in {size})')
        self._map, self._name, self._slots, self._capacity, self._stride = buffer, name, slots, capacity, stride
        self._seq = _sequences(buffer, slots, stride)
        self._pixels = np.ndarray((slots, capacity), np.uint8, buffer=buffer, offset=2 * HEADER_BYTES,
                                  strides=(stride, 1))

    def close(self) -> None:
        if self._map is not None:
            self._seq = self._pixels = None
            self._map.close()
            self._map = None
            self._name = ''
