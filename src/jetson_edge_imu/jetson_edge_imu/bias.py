"""Start-up gyro bias estimation while the robot stands still.

Samples are collected over a window; if the window was still (gyro and accelerometer spread
within a few datasheet sigmas, accelerometer magnitude near 1 g) the mean gyro rate is the
bias. If the robot moved, the window is discarded and collection starts again, and the status
says so, until ``timeout_s`` has passed; then estimation gives up with zero bias and a warning
rather than hold the driver forever.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from jetson_edge_imu.motion import STANDARD_GRAVITY
from jetson_edge_imu.quaternion import Vec3


class BiasState(enum.Enum):
    COLLECTING = 'collecting'
    DONE = 'done'
    GAVE_UP = 'gave_up'


@dataclass(frozen=True, slots=True)
class StillnessLimits:
    gyro_std: float  # rad/s, per axis
    accel_std: float  # m/s^2, per axis
    accel_norm_error: float = 0.5  # m/s^2 away from 1 g

    @classmethod
    def from_noise(cls, gyro_sigma: float, accel_sigma: float, *,
                   gyro_lsb: float, accel_lsb: float) -> 'StillnessLimits':
        # Three sigmas, but never below two quantization steps (a coarse range setting makes
        # the measured spread of a still sensor a whole LSB).
        return cls(max(3 * gyro_sigma, 2 * gyro_lsb, 0.002),
                   max(3 * accel_sigma, 2 * accel_lsb, 0.02))


class GyroBiasEstimator:
    def __init__(self, *, window_samples: int, limits: StillnessLimits,
                 timeout_samples: int) -> None:
        if window_samples < 10:
            raise ValueError('a bias window needs at least 10 samples')
        self.window_samples = window_samples
        self.limits = limits
        self.timeout_samples = timeout_samples
        self.state = BiasState.COLLECTING
        self.bias: Vec3 = (0.0, 0.0, 0.0)
        self.attempts = 0
        self.message = 'estimating gyro bias: keep the robot still'
        self._seen = 0
        self._reset_window()

    def _reset_window(self) -> None:
        self._n = 0
        self._sum = [0.0] * 6
        self._sq = [0.0] * 6

    def add(self, gyro: Vec3, accel: Vec3) -> bool:
        """Feed one sample; returns True on the sample that finishes estimation."""
        if self.state is not BiasState.COLLECTING:
            return False
        self._seen += 1
        for i, v in enumerate((*gyro, *accel)):
            self._sum[i] += v
            self._sq[i] += v * v
        self._n += 1
        if self._n >= self.window_samples:
            return self._close_window()
        if self.timeout_samples and self._seen >= self.timeout_samples:
            self.state = BiasState.GAVE_UP
            self.message = (f'gyro bias not estimated: robot kept moving for '
                            f'{self._seen} samples ({self.attempts} windows); using zero bias')
            return True
        return False

    def _close_window(self) -> bool:
        n = self._n
        mean = [s / n for s in self._sum]
        std = [math.sqrt(max(0.0, q / n - m * m)) for q, m in zip(self._sq, mean)]
        accel_norm = math.sqrt(mean[3] ** 2 + mean[4] ** 2 + mean[5] ** 2)
        lim = self.limits
        self.attempts += 1
        reasons = []
        if max(std[0:3]) > lim.gyro_std:
            reasons.append(f'gyro spread {max(std[0:3]):.4f} rad/s > {lim.gyro_std:.4f}')
        if max(std[3:6]) > lim.accel_std:
            reasons.append(f'accel spread {max(std[3:6]):.3f} m/s^2 > {lim.accel_std:.3f}')
        if abs(accel_norm - STANDARD_GRAVITY) > lim.accel_norm_error:
            reasons.append(f'accel magnitude {accel_norm:.2f} m/s^2 is not 1 g')
        if reasons:
            self.message = (f'motion detected during gyro bias estimation ({"; ".join(reasons)});'
                            f' waiting for the robot to be still, retry {self.attempts}')
            self._reset_window()
            if self.timeout_samples and self._seen >= self.timeout_samples:
                self.state = BiasState.GAVE_UP
                self.message += '; timed out, using zero bias'
                return True
            return False
        self.bias = (mean[0], mean[1], mean[2])
        self.state = BiasState.DONE
        self.message = (f'gyro bias estimated after {self.attempts} window(s): '
                        f'({self.bias[0]:.5f}, {self.bias[1]:.5f}, {self.bias[2]:.5f}) rad/s')
        return True
