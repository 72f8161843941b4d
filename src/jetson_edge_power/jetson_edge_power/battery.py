"""The battery's charge in percent from what a ``sensor_msgs/BatteryState`` carries."""

from __future__ import annotations

import math


def battery_percent(percentage: float, charge: float, capacity: float) -> float | None:
    """``percentage`` (0..1) as percent; where it is NaN (unknown), ``charge / capacity`` when
    both are known; ``None`` when neither tells."""
    if not math.isnan(percentage):
        return percentage * 100.0
    if capacity > 0 and not math.isnan(charge):
        return 100.0 * charge / capacity
    return None
