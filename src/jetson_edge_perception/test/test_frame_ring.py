"""The shared-memory frame ring: frames round-trip, and every way a slot can go wrong is a named drop."""

from __future__ import annotations

import os
import struct
from dataclasses import replace

import numpy as np
import pytest

from jetson_edge_perception.errors import FrameError
from jetson_edge_perception.frame_ring import (HEADER_BYTES, FrameRingReader, FrameRingWriter, SlotRef,
                                               remove_stale_rings, slot_topic)
from jetson_edge_perception.frames import read_frame


def frame(value: int, shape=(48, 64, 3)) -> np.ndarray:
    rng = np.random.default_rng(value)
    return rng.integers(0, 256, shape, dtype=np.uint8)


@pytest.fixture
def writer(tmp_path):
    ring = FrameRingWriter('test_ring', slots=3, directory=tmp_path)
    yield ring
    ring.close()


@pytest.fixture
def reader(tmp_path):
    ring = FrameRingReader(directory=tmp_path)
    yield ring
    ring.close()


def test_frames_round_trip_with_their_geometry(writer, reader):
    for i in range(7):  # more frames than slots: the ring wraps
        image = frame(i)
        ref = writer.write(image, 'bgr8')
        assert ref.slot == i % 3
        got = reader.read(ref, frame_id='cam')
        assert (got.encoding, got.height, got.width, got.step) == ('bgr8', 48, 64, 64 * 3)
        _, pixels = read_frame(got)
        np.testing.assert_array_equal(pixels, image)
        assert got.header.frame_id == 'cam'


def test_mono_frames_and_a_strided_source(writer, reader):
    image = frame(1, (40, 80))[:, ::2]  # not contiguous
    got = reader.read(writer.write(image, 'mono8'))
    np.testing.assert_array_equal(read_frame(got)[1], image)


def test_the_copy_survives_the_slot_being_rewritten(writer, reader):
    first = frame(1)
    got = reader.read(writer.write(first, 'bgr8'))
    for i in range(3):
        writer.write(frame(10 + i), 'bgr8')
    np.testing.assert_array_equal(read_frame(got)[1], first)


def test_a_lapped_slot_is_an_overwritten_drop(writer, reader):
    ref = writer.write(frame(1), 'bgr8')
    for i in range(3):
        writer.write(frame(2 + i), 'bgr8')  # the third write lands on ref's slot again
    with pytest.raises(FrameError) as caught:
        reader.read(ref)
    assert caught.value.reason == 'ring_overwritten'


def test_a_slot_being_written_is_a_torn_drop(writer, reader):
    ref = writer.write(frame(1), 'bgr8')
    writer._seq[ref.slot] = ref.sequence - 1  # the writer's odd mark while it copies
    with pytest.raises(FrameError) as caught:
        reader.read(ref)
    assert caught.value.reason == 'ring_torn'


def test_a_slot_rewritten_during_the_copy_is_a_torn_drop(writer, reader, monkeypatch):
    ref = writer.write(frame(1), 'bgr8')
    reader.read(ref)  # opens the ring

    class RewrittenWhileCopied(np.ndarray):
        def copy(self, *args, **kwargs):  # the writer laps the slot between the two sequence reads
            for i in range(3):
                writer.write(frame(5 + i), 'bgr8')
            return np.ndarray.copy(self, *args, **kwargs)

    monkeypatch.setattr(reader, '_pixels', reader._pixels.view(RewrittenWhileCopied))
    with pytest.raises(FrameError) as caught:
        reader.read(ref)
    assert caught.value.reason == 'ring_torn'


def test_an_absent_ring_is_a_missing_drop_naming_it(reader):
    with pytest.raises(FrameError) as caught:
        reader.read(SlotRef('camera_elsewhere.1', 0, 2))
    assert caught.value.reason == 'ring_missing'
    assert 'camera_elsewhere.1' in str(caught.value)


@pytest.mark.parametrize('name', ['../etc/passwd', 'a/b', '', '.' * 300])
def test_a_ring_name_that_is_a_path_is_refused(reader, name):
    with pytest.raises(FrameError) as caught:
        reader.read(SlotRef(name, 0, 2))
    assert caught.value.reason == 'ring_bad'


def test_slot_out_of_range_and_an_older_sequence_are_bad(writer, reader):
    ref = writer.write(frame(1), 'bgr8')
    for bad in (replace(ref, slot=3), replace(ref, slot=-1)):
        with pytest.raises(FrameError) as caught:
            reader.read(bad)
        assert caught.value.reason == 'ring_bad'
    with pytest.raises(FrameError) as caught:
        reader.read(replace(ref, sequence=ref.sequence + 10))  # announced by a camera that restarted
    assert caught.value.reason == 'ring_bad'


@pytest.mark.parametrize('content', [b'', b'x' * 10, b'NOTARING' + bytes(200),
                                     struct.pack('<8sII', b'JEFRING1', 1000, 100) + bytes(200),
                                     struct.pack('<8sII', b'JEFRING1', 0, 100) + bytes(200),
                                     struct.pack('<8sII', b'JEFRING1', 2, 1 << 20) + bytes(200)])
def test_a_file_that_is_no_ring_is_refused(tmp_path, reader, content):
    (tmp_path / 'junk.1').write_bytes(content)
    with pytest.raises(FrameError) as caught:
        reader.read(SlotRef('junk.1', 0, 2))
    assert caught.value.reason == 'ring_bad'


def test_a_slot_header_claiming_more_than_its_slot_is_refused(writer, reader):
    ref = writer.write(frame(1), 'bgr8')
    struct.pack_into('<I', writer._map, HEADER_BYTES + ref.slot * writer._stride + 8 + 12, 1 << 30)
    with pytest.raises(FrameError) as caught:
        reader.read(ref)
    assert caught.value.reason == 'ring_bad'


def test_a_short_slot_header_is_caught_by_the_image_checks(writer, reader):
    ref = writer.write(frame(1), 'bgr8')
    struct.pack_into('<I', writer._map, HEADER_BYTES + ref.slot * writer._stride + 8, 480)  # height x10
    with pytest.raises(FrameError) as caught:
        read_frame(reader.read(ref))
    assert caught.value.reason == 'short_data'


def test_a_larger_frame_makes_a_new_ring_and_the_reader_follows(writer, reader, tmp_path):
    small_image = frame(1)
    small = writer.write(small_image, 'bgr8')
    big_image = frame(2, (96, 128, 3))
    big = writer.write(big_image, 'bgr8')
    assert big.ring != small.ring
    # a FrameSlot of the old ring still in flight finds it, until the ring after
    np.testing.assert_array_equal(read_frame(reader.read(small))[1], small_image)
    np.testing.assert_array_equal(read_frame(reader.read(big))[1], big_image)
    bigger = writer.write(frame(3, (120, 160, 3)), 'bgr8')
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([big.ring, bigger.ring])
    with pytest.raises(FrameError) as caught:
        reader.read(small)
    assert caught.value.reason == 'ring_missing'
    assert reader.frames_read == 2


def test_rings_a_killed_writer_left_are_removed_and_no_other(tmp_path):
    with open('/proc/sys/kernel/pid_max') as limit:
        dead = int(limit.read()) + 1   # no process can have it
    mine = os.getpid()
    for name in (f'cam_{dead}.1', f'cam_{dead}.2', f'cam_{mine}.1', f'cam_{os.getppid()}.1',
                 f'cam_left_{dead}.1', f'other_{dead}.1', f'cam_{dead}.tmp'):
        (tmp_path / name).write_bytes(b'frames')
    assert remove_stale_rings('cam', tmp_path) == [f'cam_{dead}.1', f'cam_{dead}.2']
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([
        f'cam_{mine}.1', f'cam_{os.getppid()}.1', f'cam_left_{dead}.1', f'other_{dead}.1',
        f'cam_{dead}.tmp'])


def test_close_removes_the_rings(tmp_path):
    ring = FrameRingWriter('gone', slots=2, directory=tmp_path)
    ring.write(frame(1), 'rgb8')
    ref = ring.write(frame(2, (64, 64, 3)), 'rgb8')
    assert (tmp_path / ref.ring).exists() and len(list(tmp_path.iterdir())) == 2
    ring.close()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize('image, encoding', [(np.zeros((4, 4), np.float32), 'mono8'),
                                             (np.zeros((0, 4, 3), np.uint8), 'bgr8'),
                                             (np.zeros(16, np.uint8), 'mono8'),
                                             (np.zeros((4, 4), np.uint8), 'x' * 17)])
def test_the_writer_refuses_what_is_no_frame(writer, image, encoding):
    with pytest.raises(ValueError):
        writer.write(image, encoding)


@pytest.mark.parametrize('slots, prefix', [(0, 'ok'), (65, 'ok'), (4, 'a/b')])
def test_the_writer_refuses_a_bad_ring(tmp_path, slots, prefix):
    with pytest.raises(ValueError):
        FrameRingWriter(prefix, slots=slots, directory=tmp_path)


def test_slot_topic_is_a_sub_topic_of_the_image_topic():
    assert slot_topic('camera/image_raw') == 'camera/image_raw/shm'
    assert slot_topic('/front/image/') == '/front/image/shm'


def test_a_ring_that_cannot_be_made_raises_and_leaves_no_file(tmp_path, monkeypatch):
    ring = FrameRingWriter('full', slots=2, directory=tmp_path)

    def no_space(fd, offset, length):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr('os.posix_fallocate', no_space)
    with pytest.raises(OSError):
        ring.write(frame(1), 'bgr8')
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    ref = ring.write(frame(2), 'bgr8')  # space again: the next frame makes the ring
    np.testing.assert_array_equal(read_frame(FrameRingReader(directory=tmp_path).read(ref))[1], frame(2))
    ring.close()
