"""The IMU driver node: parameters, QoS, topics and diagnostics around ``ImuDriver``.

A reader thread owns the driver and the device (``ImuDriver.run``) and publishes each reading;
the executor thread only serves diagnostics and parameter sets. Publishing from the reader
thread keeps the 1 kHz path off the executor, whose timer dispatch would cost more than the
work itself. The driver handles the faults of its environment itself (a link that drops, a
calibration file that cannot be written); an exception it did not foresee ends the reader
thread, and with it the process (``thread_guard``), after an ERROR on /diagnostics, so that
respawn restarts the node instead of leaving it alive with no data.
"""

from __future__ import annotations

import gc
import sys
import threading
import time

from rclpy.node import Node
from sensor_msgs.msg import Imu, MagneticField, Temperature

from jetson_edge_common import qos
from jetson_edge_common.diagnostics import DiagnosticsPublisher, Level, Status
from jetson_edge_common.node_main import run
from jetson_edge_common.params import declare_parameters, on_parameter_change
from jetson_edge_common.realtime import set_realtime_priority
from jetson_edge_common.thread_guard import ThreadDeath, install_fatal_thread_hook
from jetson_edge_common.throttle import Throttled

from jetson_edge_imu.driver import ImuDriver
from jetson_edge_imu.params import IMU_NODE, driver_config
from jetson_edge_imu.samples import ImuReading


class ImuNode(Node):
    def __init__(self, **node_options) -> None:
        super().__init__('imu_node', **node_options)
        self.values = declare_parameters(self, IMU_NODE)
        config = driver_config(self.values)
        self._warn = Throttled(self.get_logger().warning, self.values['warn_period_s'])
        self.driver = ImuDriver(config, on_warning=self._warn)
        v = self.values
        self._pub_raw = (self.create_publisher(Imu, v['data_raw_topic'], qos.SENSOR_STREAM)
                         if v['publish_raw'] else None)
        self._pub_data = self.create_publisher(Imu, v['data_topic'], qos.SENSOR_STREAM)
        self._pub_temp = self.create_publisher(Temperature, v['temperature_topic'],
                                               qos.SENSOR_STREAM)
        # Created up front: whether a magnetometer answers is known only once the link is up.
        self._pub_mag = self.create_publisher(MagneticField, v['mag_topic'], qos.SENSOR_STREAM)
        self._raw = Imu()
        self._data = Imu()
        # Both messages carry the same stamp and vectors: they share those fields' objects,
        # so each reading fills them once.
        self._data.header = self._raw.header
        self._data.linear_acceleration = self._raw.linear_acceleration
        self._data.angular_velocity = self._raw.angular_velocity
        self._temp = Temperature()
        self._mag = MagneticField()  # covariance all zero: unknown (the AK8963 states none)
        for msg in (self._raw, self._temp, self._mag):
            msg.header.frame_id = v['frame_id']
        self._raw.orientation_covariance[0] = -1.0  # REP 145: no orientation estimate
        self._temp.variance = 1.0  # data sheets state +-1 C
        self._temp_period_ns = int(1e9 / v['temperature_rate_hz'])
        self._next_temp_ns = 0
        self._covariance_set = False
        hardware_id = {
            'uart': f'{config.device_type}@{config.port}',
            'spi': f'{config.device_type}@spidev{config.spi_bus}.{config.spi_chip_select}',
        }.get(config.interface,
              f'{config.device_type}@i2c-{config.i2c_bus}:0x{config.i2c_address:02x}')
        self._diagnostics = DiagnosticsPublisher(self, hardware_id=hardware_id,
                                                 period_s=v['diagnostics_period_s'])
        self._diagnostics.add('imu', self._status)
        self._death: ThreadDeath | None = None
        install_fatal_thread_hook(self._report_death)
        on_parameter_change(self, IMU_NODE, self._apply)
        self._stop = threading.Event()
        clock = self.get_clock()
        # The ROS clock is the system clock unless use_sim_time is set; reading the system
        # clock directly saves building a Time object per sample.
        stamp_clock = (time.time_ns if not self.get_parameter('use_sim_time').value
                       else lambda: clock.now().nanoseconds)
        self._scheduling = (True, 'reader thread not started')
        self._thread = threading.Thread(target=self._read, args=(stamp_clock,),
                                        name='imu-reader', daemon=True)
        self._thread.start()

    def _read(self, stamp_clock) -> None:
        # Python hands the GIL to a waiting thread only after the switch interval (5 ms by
        # default): the executor thread's diagnostics would hold up a read for that long.
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.25 / self.values['rate_hz']))
        self._scheduling = set_realtime_priority(self.values['reader_priority'])
        # A full collection walks every object (rclpy, numpy, the node: ~7 ms, GIL held)
        # and a 1 kHz reader would lose the samples of that pause; the start-up objects are
        # moved out of its reach, so later collections walk only what came since.
        gc.collect()
        gc.freeze()
        if not self._scheduling[0]:
            self.get_logger().warning(self._scheduling[1])
        self.driver.run(self._stop, self._publish, stamp_clock_ns=stamp_clock)

    def _report_death(self, death: ThreadDeath) -> None:
        """Called by the fatal thread hook, on the dying thread, before the process exits."""
        self._death = death
        self.get_logger().error(f'{death.message}; exiting so that respawn restarts the node')
        self._diagnostics.flush(timeout_s=1.0)

    def _apply(self, name: str, value) -> None:
        if name == 'filter_gain' and self.driver.filter is not None:
            self.driver.filter.gain = float(value)

    def _set_covariances(self) -> None:
        d = self.driver
        for msg in (self._raw, self._data):
            msg.angular_velocity_covariance = d.gyro_covariance
            msg.linear_acceleration_covariance = d.accel_covariance
        self._data.orientation_covariance = d.orientation_covariance
        self._covariance_set = True

    def _publish(self, r: ImuReading) -> None:
        """Called on the reader thread for every reading."""
        try:
            self._fill_and_publish(r)
        except Exception:
            # Ctrl-C shuts the context down before close() stops this thread: stop quietly
            # then, but never hide a publish failure while the node is running.
            if self.context.ok():
                raise
            self._stop.set()

    def _fill_and_publish(self, r: ImuReading) -> None:
        if not self._covariance_set:
            self._set_covariances()
        sec, nsec = divmod(r.stamp_ns, 1_000_000_000)
        msg = self._raw  # and self._data, which shares these fields
        stamp = msg.header.stamp
        stamp.sec = sec
        stamp.nanosec = nsec
        a, w = msg.linear_acceleration, msg.angular_velocity
        a.x, a.y, a.z = r.accel
        w.x, w.y, w.z = r.gyro
        if self._pub_raw is not None:
            self._pub_raw.publish(self._raw)
        if r.orientation is not None:
            o = self._data.orientation
            o.w, o.x, o.y, o.z = r.orientation
            self._pub_data.publish(self._data)
        if r.mag is not None:
            m = self._mag
            m.header.stamp.sec = sec
            m.header.stamp.nanosec = nsec
            f = m.magnetic_field
            f.x, f.y, f.z = r.mag
            self._pub_mag.publish(m)
        if r.temperature is not None and r.stamp_ns >= self._next_temp_ns:
            self._next_temp_ns = r.stamp_ns + self._temp_period_ns
            self._temp.header.stamp.sec = sec
            self._temp.header.stamp.nanosec = nsec
            self._temp.temperature = float(r.temperature)
            self._pub_temp.publish(self._temp)

    def _status(self) -> Status:
        if self._death is not None:
            return Status.error(f'{self._death.message}; the node exits to be restarted')
        level, message, values = self.driver.status()
        values['overruns'] = str(self.driver.overruns)
        values['scheduling'] = self._scheduling[1]
        if not self._scheduling[0] and level == Level.OK:
            return Status(Level.WARN, self._scheduling[1], values)
        return Status(level, message, values)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)


def main(args: list[str] | None = None) -> int:
    return run(ImuNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
