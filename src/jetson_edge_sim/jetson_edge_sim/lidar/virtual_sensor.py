"""The virtual Velodyne: real data packets from a simulated room, sent over UDP at a real rate.

:class:`SimulatedVelodyne` turns the firing schedule of a spinning sensor into packets by
ray-casting the :class:`~jetson_edge_sim.lidar.scene.Room`. Every laser's view of the room is
cast once into a table over azimuth (``azimuth_step_deg`` apart, default 0.02 deg, finer
than a VLP-16's 0.2 deg at 600 RPM), so producing packets later costs a table look-up.
:class:`VirtualVelodyne` sends them to a host and port paced like the real device
(a VLP-16 at any RPM: 754 packets/s in single-return mode).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Callable

import numpy as np

from jetson_edge_lidar.errors import SourceError
from jetson_edge_lidar.models import ReturnMode, SensorModel
from jetson_edge_sim.lidar.encoder import Firings, FiringSchedule, encode_packets, packets_to_bytes, quantize_range
from jetson_edge_sim.lidar.scene import Room

_log = logging.getLogger(__name__)

HEAD_HEIGHT_M = 1.6


class SimulatedVelodyne:
    """Packets a ``model`` spinning at ``rpm`` would send standing in ``room``."""

    def __init__(self, model: SensorModel, mode: ReturnMode = ReturnMode.STRONGEST, *,
                 rpm: float = 600.0, room: Room | None = None,
                 height_m: float = HEAD_HEIGHT_M, start_time_s: float | None = None,
                 start_azimuth_deg: float = 0.0, azimuth_step_deg: float = 0.02) -> None:
        self.model = model
        self.mode = mode
        self.schedule = FiringSchedule(
            model, mode, rpm=rpm,
            start_time_s=time.time() if start_time_s is None else start_time_s,
            start_azimuth_deg=start_azimuth_deg)
        self._bins = int(round(360.0 / azimuth_step_deg))
        self._step = 360.0 / self._bins
        self._table = _cast_table(room or Room(), model, height_m, self._bins)
        self._next_packet = 0

    @property
    def packet_period_s(self) -> float:
        return self.schedule.packet_period_s

    @property
    def packets_sent(self) -> int:
        return self._next_packet

    def firings(self, count: int) -> Firings:
        return self.schedule.window(self._next_packet, count)

    def next_packets(self, count: int) -> list[bytes]:
        """The next ``count`` packets of the stream (advances the sensor's clock)."""
        firings = self.firings(count)
        self._next_packet += count
        distance, reflectivity = self.measure(firings)
        return packets_to_bytes(encode_packets(firings, self.model, self.mode,
                                               distance_raw=distance,
                                               reflectivity=reflectivity))

    def sync_clock(self, now_s: float) -> None:
        """Make the next packet fire at ``now_s`` (the sensor's clock follows the host's)."""
        self.schedule.start_time_s = now_s - self._next_packet * self.packet_period_s

    def skip(self, count: int) -> None:
        """Advance the clock without producing packets (as if they were lost)."""
        self._next_packet += count

    def measure(self, firings: Firings) -> tuple[np.ndarray, np.ndarray]:
        """Raw distance and reflectivity of every data point, by return mode."""
        column = np.rint(firings.azimuth_deg / self._step).astype(np.int64) % self._bins
        near_raw, near_refl, far_raw, far_refl = (t[firings.laser, column] for t in self._table)
        if self.mode is ReturnMode.LAST:
            return far_raw, far_refl
        if self.mode is ReturnMode.STRONGEST:
            near_is_strongest = near_refl > far_refl
            return (np.where(near_is_strongest, near_raw, far_raw),
                    np.where(near_is_strongest, near_refl, far_refl))
        # Dual: even blocks the last return, odd blocks the strongest one, or the
        # second-strongest when the strongest is also the last; with two surfaces at most
        # that is the near one either way.
        distance, reflectivity = far_raw.copy(), far_refl.copy()
        distance[:, 1::2], reflectivity[:, 1::2] = near_raw[:, 1::2], near_refl[:, 1::2]
        return distance, reflectivity


def _cast_table(room: Room, model: SensorModel, height_m: float, bins: int
                ) -> tuple[np.ndarray, ...]:
    azimuth = np.radians(np.arange(bins) * (360.0 / bins))
    elevation = np.radians(np.asarray(model.elevation_deg))
    cos_el, sin_el = np.cos(elevation)[:, None], np.sin(elevation)[:, None]
    direction = np.stack(np.broadcast_arrays(cos_el * np.cos(azimuth), -cos_el * np.sin(azimuth),
                                             sin_el * np.ones_like(azimuth)), axis=-1)
    origin = np.zeros_like(direction)
    origin[..., 2] = height_m + np.asarray(model.vertical_offset_mm)[:, None] * 1e-3
    returns = room.raycast(origin.reshape(-1, 3), direction.reshape(-1, 3))
    shape = (model.lasers, bins)
    return (quantize_range(returns.near_m, model).reshape(shape),
            returns.near_reflectivity.reshape(shape),
            quantize_range(returns.far_m, model).reshape(shape),
            returns.far_reflectivity.reshape(shape))


class VirtualVelodyne:
    """Sends a :class:`SimulatedVelodyne`'s packets over UDP at the device's packet rate.

    Packets leave in small bursts every ``send_interval_s`` (a few per burst), which keeps
    the sender cheap while the receiver sees the real average rate. If the sender falls more
    than ``max_lag_s`` behind (a paused process), it skips ahead like a sensor whose packets
    were lost rather than flooding the receiver.
    """

    def __init__(self, sensor: SimulatedVelodyne, *, host: str = '127.0.0.1',
                 port: int = 2368, send_interval_s: float = 0.002, max_lag_s: float = 0.5,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.sensor = sensor
        self.target = (host, port)
        self._interval = send_interval_s
        self._max_lag = max_lag_s
        self._clock = clock
        self._wall_clock = wall_clock
        try:
            self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        except OSError as exc:
            raise SourceError(f'cannot create a UDP socket: {exc.strerror}') from exc
        self.sent = 0
        self.skipped = 0
        self.send_errors = 0

    def close(self) -> None:
        self._socket.close()

    def __enter__(self) -> VirtualVelodyne:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, stop: threading.Event, *, duration_s: float | None = None) -> int:
        """Send until ``stop`` is set or ``duration_s`` passes; returns packets sent."""
        period = self.sensor.packet_period_s
        start = self._clock()
        self.sensor.sync_clock(self._wall_clock())
        first = self.sensor.packets_sent
        while not stop.is_set():
            elapsed = self._clock() - start
            if duration_s is not None and elapsed >= duration_s:
                break
            due = int(elapsed / period) + 1 - (self.sensor.packets_sent - first)
            lag_limit = int(self._max_lag / period)
            if due > lag_limit:
                self.sensor.skip(due - 1)
                self.skipped += due - 1
                due = 1
            if due > 0:
                self._send(self.sensor.next_packets(due))
            stop.wait(self._interval)
        return self.sent

    def _send(self, packets: list[bytes]) -> None:
        for packet in packets:
            try:
                self._socket.sendto(packet, self.target)
                self.sent += 1
            except OSError as exc:
                # Nobody listening yet (ICMP port unreachable on loopback) is normal at
                # start-up; the sensor keeps sending like the real one.
                self.send_errors += 1
                if self.send_errors == 1:
                    _log.warning('sending to %s:%d failed (%s); continuing', *self.target,
                                 exc.strerror)


def main(argv: list[str] | None = None) -> int:
    """``python -m jetson_edge_sim.lidar.virtual_sensor``: run the virtual sensor without ROS."""
    import argparse
    import signal

    from jetson_edge_lidar.errors import LidarError
    from jetson_edge_lidar.models import MODELS, model_by_name, return_mode_by_name

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--host', default='127.0.0.1', help='where to send the packets')
    parser.add_argument('--port', type=int, default=2368, help='UDP port of the driver')
    parser.add_argument('--model', default='VLP-16', help=', '.join(m.name for m in MODELS))
    parser.add_argument('--return-mode', default='strongest', help='strongest, last or dual')
    parser.add_argument('--rpm', type=float, default=600.0, help='motor speed')
    parser.add_argument('--duration', type=float, default=None,
                        help='seconds to run (default: until interrupted)')
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        sensor = SimulatedVelodyne(model_by_name(args.model),
                                   return_mode_by_name(args.return_mode), rpm=args.rpm)
        with VirtualVelodyne(sensor, host=args.host, port=args.port) as virtual:
            virtual.run(stop, duration_s=args.duration)
    except LidarError as exc:
        print(f'virtual velodyne: {exc}')
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
