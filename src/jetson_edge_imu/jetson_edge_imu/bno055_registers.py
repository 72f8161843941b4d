"""Bosch BNO055 page-0 register map, operating modes, unit bits and UART protocol constants
(data sheet BST-BNO055-DS000, sections 3.3, 3.6, 4.3 and 4.7)."""

from __future__ import annotations

import enum

CHIP_ID_VALUE = 0xA0
I2C_ADDRESSES = (0x28, 0x29)

# Page 0 registers
CHIP_ID = 0x00
ACC_ID = 0x01
MAG_ID = 0x02
GYR_ID = 0x03
SW_REV_ID_LSB = 0x04
BL_REV_ID = 0x06
PAGE_ID = 0x07
ACC_DATA_X_LSB = 0x08
MAG_DATA_X_LSB = 0x0E
GYR_DATA_X_LSB = 0x14
EUL_HEADING_LSB = 0x1A
QUA_DATA_W_LSB = 0x20
LIA_DATA_X_LSB = 0x28
GRV_DATA_X_LSB = 0x2E
TEMP = 0x34
CALIB_STAT = 0x35
ST_RESULT = 0x36
INT_STA = 0x37
SYS_CLK_STATUS = 0x38
SYS_STATUS = 0x39
SYS_ERR = 0x3A
UNIT_SEL = 0x3B
OPR_MODE = 0x3D
PWR_MODE = 0x3E
SYS_TRIGGER = 0x3F
TEMP_SOURCE = 0x40
AXIS_MAP_CONFIG = 0x41
AXIS_MAP_SIGN = 0x42
ACC_OFFSET_X_LSB = 0x55
MAG_OFFSET_X_LSB = 0x5B
GYR_OFFSET_X_LSB = 0x61
ACC_RADIUS_LSB = 0x67
MAG_RADIUS_LSB = 0x69
CALIBRATION_BLOCK_START = ACC_OFFSET_X_LSB
CALIBRATION_BLOCK_LENGTH = 22  # 0x55..0x6A: accel, mag, gyro offsets, accel and mag radius

# Burst windows the driver reads each sample
FUSION_BLOCK = (ACC_DATA_X_LSB, QUA_DATA_W_LSB + 8 - ACC_DATA_X_LSB)  # accel..quaternion, 32 B
RAW_BLOCK = (ACC_DATA_X_LSB, GYR_DATA_X_LSB + 6 - ACC_DATA_X_LSB)  # accel, mag, gyro, 18 B
SLOW_BLOCK = (TEMP, 2)  # temperature, calibration status

# UNIT_SEL bits
UNIT_ACC_MG = 1 << 0
UNIT_GYR_RPS = 1 << 1
UNIT_EUL_RAD = 1 << 2
UNIT_TEMP_F = 1 << 4
UNIT_ORI_ANDROID = 1 << 7
SI_UNITS = UNIT_GYR_RPS | UNIT_EUL_RAD  # m/s^2, rad/s, rad, Celsius, Windows orientation

# Scale factors (LSB per unit) for SI_UNITS
ACCEL_LSB_PER_MS2 = 100.0
GYRO_LSB_PER_RPS = 900.0
GYRO_LSB_PER_DPS = 16.0
EULER_LSB_PER_RAD = 900.0
MAG_LSB_PER_UT = 16.0
QUAT_LSB = float(1 << 14)

SYS_TRIGGER_RST_SYS = 1 << 5
PWR_MODE_NORMAL = 0x00

# In fusion modes the accelerometer range is fixed by the fusion library at 4 g and the gyro
# at 2000 dps (data sheet table 3-7 footnote); the driver flags samples at these limits.
FUSION_ACCEL_RANGE_MS2 = 4 * 9.80665
FUSION_GYRO_RANGE_RPS = 2000 * 3.141592653589793 / 180


class OperatingMode(enum.IntEnum):
    CONFIG = 0x00
    ACCONLY = 0x01
    MAGONLY = 0x02
    GYROONLY = 0x03
    ACCMAG = 0x04
    ACCGYRO = 0x05
    MAGGYRO = 0x06
    AMG = 0x07
    IMU = 0x08
    COMPASS = 0x09
    M4G = 0x0A
    NDOF_FMC_OFF = 0x0B
    NDOF = 0x0C

    @property
    def is_fusion(self) -> bool:
        return self >= OperatingMode.IMU


# Table 3-6: switching time from CONFIG to any mode 7 ms, from any mode to CONFIG 19 ms.
SWITCH_FROM_CONFIG_S = 0.007
SWITCH_TO_CONFIG_S = 0.019
POWER_ON_RESET_S = 0.65

# UART protocol (section 4.7)
UART_START = 0xAA
UART_CMD_WRITE = 0x00
UART_CMD_READ = 0x01
UART_READ_OK = 0xBB
UART_STATUS = 0xEE
UART_MAX_LENGTH = 128
UART_DEFAULT_BAUD = 115200


class UartStatus(enum.IntEnum):
    WRITE_SUCCESS = 0x01
    READ_FAIL = 0x02
    WRITE_FAIL = 0x03
    REGMAP_INVALID_ADDRESS = 0x04
    REGMAP_WRITE_DISABLED = 0x05
    WRONG_START_BYTE = 0x06
    BUS_OVER_RUN_ERROR = 0x07
    MAX_LENGTH_ERROR = 0x08
    MIN_LENGTH_ERROR = 0x09
    RECEIVE_CHARACTER_TIMEOUT = 0x0A


# Statuses that the data sheet's UART application note treats as transient: resend.
UART_RETRYABLE = frozenset({UartStatus.BUS_OVER_RUN_ERROR, UartStatus.RECEIVE_CHARACTER_TIMEOUT,
                            UartStatus.WRONG_START_BYTE})
