"""Torso balance: PD on roll and pitch from imu/data to joint position commands, with an IMU watchdog.

    u_roll  = -(kp_roll  * (roll  - roll_target)  + kd_roll  * wx)
    u_pitch = -(kp_pitch * (pitch - pitch_target) + kd_pitch * wy)
    command = clip(nominal + roll_mixing * u_roll + pitch_mixing * u_pitch, -limit, +limit)

roll/pitch come from the IMU orientation (REP 103 body frame: x forward, y left, z up), the
derivative term from the gyro rates rather than a differentiated angle (no noise amplification,
no state). The mixing vectors say how much each joint contributes to a roll or pitch correction;
their signs depend on the robot's joint conventions and belong in its profile.

The output falls back to the nominal posture (the safe command) and the health goes to ERROR
when there is no IMU sample yet, the newest is older than `imu_timeout_s`, its orientation is
invalid, or the torso is tilted beyond `max_tilt` (the robot is falling or lying down: a PD on
the ankles cannot help and may hurt). Control resumes on the next good sample.
"""
from __future__ import annotations

import enum
import math
from typing import Any, Mapping

import numpy as np

from jetson_edge_common.diagnostics import Level

from ..buffers import LatestValue
from ..errors import ConfigError
from ..inputs import ImuSample, roll_pitch_from_quaternion
from .base import Controller, ControllerParam

_DEFAULT_JOINTS = ('left_hip_roll', 'right_hip_roll', 'left_ankle_roll', 'right_ankle_roll',
                   'left_ankle_pitch', 'right_ankle_pitch')


class _State(enum.IntEnum):
    INACTIVE = 0
    BALANCING = 1
    NO_IMU = 2
    IMU_STALE = 3
    ORIENTATION_INVALID = 4
    TILT_LIMIT = 5


class BalanceController(Controller):
    input_names = ('imu',)
    parameters = (
        ControllerParam('joint_names', list(_DEFAULT_JOINTS), 'Joints commanded, in command vector order'),
        ControllerParam('roll_mixing', [0.5, 0.5, 0.5, 0.5, 0.0, 0.0],
                        'Per joint: share of the roll correction (rad of joint per rad of correction)'),
        ControllerParam('pitch_mixing', [0.0, 0.0, 0.0, 0.0, 1.0, 1.0],
                        'Per joint: share of the pitch correction'),
        ControllerParam('nominal_positions', [0.0] * 6, 'Per joint: standing posture, also the safe command (rad)'),
        ControllerParam('kp_roll', 2.0, 'Roll proportional gain (rad/rad)', 0.0, 100.0),
        ControllerParam('kd_roll', 0.1, 'Roll derivative gain (rad per rad/s)', 0.0, 10.0),
        ControllerParam('kp_pitch', 2.0, 'Pitch proportional gain (rad/rad)', 0.0, 100.0),
        ControllerParam('kd_pitch', 0.1, 'Pitch derivative gain (rad per rad/s)', 0.0, 10.0),
        ControllerParam('roll_target', 0.0, 'Desired torso roll (rad)', -0.5, 0.5),
        ControllerParam('pitch_target', 0.0, 'Desired torso pitch (rad)', -0.5, 0.5),
        ControllerParam('command_limit', 0.5, 'Joint commands are clipped to +-this (rad)', 0.0, math.pi),
        ControllerParam('imu_timeout_s', 0.05, 'Watchdog: IMU samples older than this stop control (s)',
                        0.001, 1.0),
        ControllerParam('max_tilt', 0.6, 'Roll or pitch beyond this stops control: falling (rad)', 0.05,
                        math.pi / 2),
    )

    def __init__(self) -> None:
        self._imu: LatestValue[ImuSample] | None = None
        self._joints: tuple[str, ...] = ()
        self._state = _State.INACTIVE
        self._last_age_ns = 0
        self.watchdog_trips = 0
        self.last_roll = 0.0
        self.last_pitch = 0.0

    def configure(self, params: Mapping[str, Any], inputs: Mapping[str, LatestValue]) -> None:
        known = {p.name: p for p in self.parameters}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ConfigError(f'balance controller: unknown parameters {unknown}; known: {sorted(known)}')
        values = {name: params.get(name, spec.default) for name, spec in known.items()}
        for spec in self.parameters:
            v = values[spec.name]
            if spec.min_value is not None and not spec.min_value <= v <= spec.max_value:
                raise ConfigError(f'balance controller: {spec.name}={v} outside [{spec.min_value}, {spec.max_value}]')
        joints = tuple(str(j) for j in values['joint_names'])
        if not joints or len(set(joints)) != len(joints):
            raise ConfigError(f'balance controller: joint_names must be non-empty and unique, got {list(joints)}')
        vectors = {}
        for key in ('roll_mixing', 'pitch_mixing', 'nominal_positions'):
            vec = np.asarray(values[key], dtype=np.float64)
            if vec.shape != (len(joints),) or not np.all(np.isfinite(vec)):
                raise ConfigError(f'balance controller: {key} needs {len(joints)} finite values (one per joint), '
                                  f'got {list(values[key])}')
            vectors[key] = vec
        if np.any(np.abs(vectors['nominal_positions']) > values['command_limit']):
            raise ConfigError('balance controller: nominal_positions exceed command_limit; the safe command '
                              'must be reachable')
        if 'imu' not in inputs:
            raise ConfigError("balance controller needs the 'imu' input")
        self._imu = inputs['imu']
        self._joints = joints
        self._roll_mix = vectors['roll_mixing']
        self._pitch_mix = vectors['pitch_mixing']
        self._nominal = vectors['nominal_positions']
        self._scratch = np.zeros(len(joints))
        self._kp_roll = float(values['kp_roll'])
        self._kd_roll = float(values['kd_roll'])
        self._kp_pitch = float(values['kp_pitch'])
        self._kd_pitch = float(values['kd_pitch'])
        self._roll_target = float(values['roll_target'])
        self._pitch_target = float(values['pitch_target'])
        self._limit = float(values['command_limit'])
        self._timeout_ns = int(values['imu_timeout_s'] * 1e9)
        self._max_tilt = float(values['max_tilt'])

    @property
    def command_names(self) -> tuple[str, ...]:
        return self._joints

    def activate(self, now_ns: int) -> None:
        self._state = _State.NO_IMU

    def deactivate(self) -> None:
        self._state = _State.INACTIVE

    def safe_command(self, command: np.ndarray) -> None:
        command[:] = self._nominal

    def _fail(self, state: _State, command: np.ndarray) -> Level:
        if self._state is _State.BALANCING:
            self.watchdog_trips += 1
        self._state = state
        command[:] = self._nominal
        return Level.ERROR

    def update(self, now_ns: int, dt_ns: int, command: np.ndarray) -> Level:
        sample = self._imu.read_from_rt()
        if sample is None:
            return self._fail(_State.NO_IMU, command)
        age = now_ns - sample.received_ns
        self._last_age_ns = age
        if age > self._timeout_ns:
            return self._fail(_State.IMU_STALE, command)
        if not sample.orientation_valid:
            return self._fail(_State.ORIENTATION_INVALID, command)
        roll, pitch = roll_pitch_from_quaternion(sample.qx, sample.qy, sample.qz, sample.qw)
        self.last_roll = roll
        self.last_pitch = pitch
        if abs(roll) > self._max_tilt or abs(pitch) > self._max_tilt:
            return self._fail(_State.TILT_LIMIT, command)
        u_roll = -(self._kp_roll * (roll - self._roll_target) + self._kd_roll * sample.wx)
        u_pitch = -(self._kp_pitch * (pitch - self._pitch_target) + self._kd_pitch * sample.wy)
        np.multiply(self._roll_mix, u_roll, out=command)
        np.multiply(self._pitch_mix, u_pitch, out=self._scratch)
        np.add(command, self._scratch, out=command)
        np.add(command, self._nominal, out=command)
        np.clip(command, -self._limit, self._limit, out=command)
        self._state = _State.BALANCING
        return Level.OK

    def status(self) -> tuple[Level, str, dict[str, str]]:
        state = self._state
        age_ms = self._last_age_ns / 1e6
        values = {'state': state.name.lower(), 'imu_age_ms': f'{age_ms:.1f}',
                  'roll_rad': f'{self.last_roll:.4f}', 'pitch_rad': f'{self.last_pitch:.4f}',
                  'watchdog_trips': str(self.watchdog_trips)}
        messages = {
            _State.INACTIVE: (Level.STALE, 'inactive'),
            _State.BALANCING: (Level.OK, 'balancing'),
            _State.NO_IMU: (Level.ERROR, 'no IMU sample received yet: holding the nominal posture'),
            _State.IMU_STALE: (Level.ERROR, f'IMU data {age_ms:.0f} ms old (limit {self._timeout_ns / 1e6:.0f} ms): '
                                             'holding the nominal posture'),
            _State.ORIENTATION_INVALID: (Level.ERROR, 'IMU orientation invalid (missing per REP 145, or not a unit '
                                                       'quaternion): holding the nominal posture'),
            _State.TILT_LIMIT: (Level.ERROR, f'torso tilt roll {math.degrees(self.last_roll):.0f} deg, pitch '
                                              f'{math.degrees(self.last_pitch):.0f} deg beyond '
                                              f'{math.degrees(self._max_tilt):.0f} deg: holding the nominal posture'),
        }
        level, message = messages[state]
        return level, message, values
