"""AsahiKASEI AK8963 register map (data sheet MS1356-E-02), the magnetometer die inside the
MPU-9250 (register map RM-MPU-9250A rev 1.4, section 5: its axes and how the MPU reaches it)."""

from __future__ import annotations

I2C_ADDRESS = 0x0C

WIA = 0x00
ST1 = 0x02
HXL = 0x03
ST2 = 0x09
CNTL1 = 0x0A
CNTL2 = 0x0B
ASAX = 0x10

WIA_VALUE = 0x48

ST1_DRDY = 0x01
ST2_HOFL = 0x08  # magnetic sensor overflow: |X| + |Y| + |Z| >= 4912 uT, the data are invalid
ST2_BITM = 0x10  # mirrors CNTL1.BIT: set for 16-bit output

CNTL1_POWER_DOWN = 0x00
CNTL1_CONTINUOUS_8HZ = 0x02
CNTL1_CONTINUOUS_100HZ = 0x06
CNTL1_FUSE_ROM = 0x0F
CNTL1_BIT_16 = 0x10
CNTL2_SRST = 0x01

# ST1, HXL..HZH (little-endian int16), ST2: reading ST2 ends a read and releases the next data.
BLOCK_BYTES = 8
TESLA_PER_LSB_16 = 0.15e-6
RANGE_TESLA = 4912e-6
RATE_HZ_BY_MODE = {CNTL1_CONTINUOUS_8HZ: 8.0, CNTL1_CONTINUOUS_100HZ: 100.0}
MODE_CHANGE_S = 100e-6  # power-down before and between mode changes


def sensitivity_factor(asa: int) -> float:
    """The fuse ROM's sensitivity adjustment: H_adj = H * ((ASA - 128) * 0.5 / 128 + 1)."""
    return (asa - 128) * 0.5 / 128 + 1.0


def to_mpu_axes(x: float, y: float, z: float) -> tuple[float, float, float]:
    """The AK8963's axes in the MPU's accelerometer/gyro frame: its X is the MPU's Y, its Y
    the MPU's X, its Z the MPU's -Z."""
    return (y, x, -z)
