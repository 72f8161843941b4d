"""InvenSense MPU-6050 / MPU-6500 / MPU-9250 register map (register map documents RM-MPU-6000A
rev 4.2 and RM-MPU-9250A rev 1.4): addresses, bit fields, ranges, DLPF tables, the auxiliary
I2C master that reaches the MPU-9250's magnetometer, and the SPI framing."""

from __future__ import annotations

from dataclasses import dataclass

I2C_ADDRESSES = (0x68, 0x69)

SELF_TEST_X = 0x0D
SMPLRT_DIV = 0x19
CONFIG = 0x1A
GYRO_CONFIG = 0x1B
ACCEL_CONFIG = 0x1C
ACCEL_CONFIG2 = 0x1D  # MPU-6500/9250 only
FIFO_EN = 0x23
I2C_MST_CTRL = 0x24
I2C_SLV0_ADDR = 0x25
I2C_SLV0_REG = 0x26
I2C_SLV0_CTRL = 0x27
I2C_SLV4_ADDR = 0x31
I2C_SLV4_REG = 0x32
I2C_SLV4_DO = 0x33
I2C_SLV4_CTRL = 0x34
I2C_SLV4_DI = 0x35
I2C_MST_STATUS = 0x36
INT_PIN_CFG = 0x37
INT_ENABLE = 0x38
INT_STATUS = 0x3A
ACCEL_XOUT_H = 0x3B
TEMP_OUT_H = 0x41
GYRO_XOUT_H = 0x43
EXT_SENS_DATA_00 = 0x49
EXT_SENS_DATA_23 = 0x60
SIGNAL_PATH_RESET = 0x68
USER_CTRL = 0x6A
PWR_MGMT_1 = 0x6B
PWR_MGMT_2 = 0x6C
FIFO_COUNTH = 0x72
FIFO_R_W = 0x74
WHO_AM_I = 0x75

# Bits
PWR1_DEVICE_RESET = 0x80
PWR1_SLEEP = 0x40
PWR1_CLKSEL_PLL_XGYRO = 0x01
USER_CTRL_FIFO_EN = 0x40
USER_CTRL_FIFO_RESET = 0x04
USER_CTRL_I2C_MST_EN = 0x20
USER_CTRL_I2C_IF_DIS = 0x10  # SPI only: the I2C slave interface off
I2C_MST_CLK_400KHZ = 0x0D  # I2C_MST_CTRL.I2C_MST_CLK
I2C_SLV_READ = 0x80  # I2C_SLVx_ADDR: read from the slave
I2C_SLV_EN = 0x80  # I2C_SLVx_CTRL
I2C_MST_STATUS_SLV4_DONE = 0x40
I2C_MST_STATUS_SLV4_NACK = 0x10
INT_PIN_CFG_BYPASS_EN = 0x02
FIFO_EN_TEMP = 0x80
FIFO_EN_XG = 0x40
FIFO_EN_YG = 0x20
FIFO_EN_ZG = 0x10
FIFO_EN_ACCEL = 0x08
FIFO_EN_SENSORS = FIFO_EN_TEMP | FIFO_EN_XG | FIFO_EN_YG | FIFO_EN_ZG | FIFO_EN_ACCEL
INT_DATA_RDY = 0x01
INT_FIFO_OFLOW = 0x10

SAMPLE_BYTES = 14  # accel (6), temperature (2), gyro (6): register order, also FIFO order
FIFO_SIZE = {'mpu6050': 1024, 'mpu6500': 512, 'mpu9250': 512}
SMBUS_BLOCK_MAX = 32

# SPI (MPU-6500/9250; the MPU-6050 has none): mode 3, first byte the register with bit 7 set
# for a read. The product specification allows 1 MHz for every register and 20 MHz for reading
# the sensor and interrupt registers.
SPI_MODE = 3
SPI_READ = 0x80
SPI_CONFIG_HZ_MAX = 1_000_000
SPI_SENSOR_HZ_MAX = 20_000_000
# Read at the fast clock: INT_STATUS through the external sensor data, and the FIFO, whose
# port returns the same sensor data.
SPI_FAST_READ_REGISTERS = frozenset((*range(INT_STATUS, EXT_SENS_DATA_23 + 1),
                                     FIFO_COUNTH, FIFO_COUNTH + 1, FIFO_R_W))
SPI_CHIPS = ('mpu6500', 'mpu9250')

WHO_AM_I_VALUES = {0x68: 'mpu6050', 0x70: 'mpu6500', 0x71: 'mpu9250', 0x73: 'mpu9250'}
WHO_AM_I_BY_CHIP = {'mpu6050': 0x68, 'mpu6500': 0x70, 'mpu9250': 0x71}

GYRO_RANGES_DPS = (250, 500, 1000, 2000)  # FS_SEL 0..3
ACCEL_RANGES_G = (2, 4, 8, 16)  # AFS_SEL 0..3


@dataclass(frozen=True, slots=True)
class DlpfSetting:
    """One DLPF_CFG row: bandwidths (Hz) and the gyro output rate the divider divides."""

    accel_bandwidth_hz: float
    gyro_bandwidth_hz: float
    internal_rate_hz: int


DLPF_MPU6050 = (
    DlpfSetting(260, 256, 8000), DlpfSetting(184, 188, 1000), DlpfSetting(94, 98, 1000),
    DlpfSetting(44, 42, 1000), DlpfSetting(21, 20, 1000), DlpfSetting(10, 10, 1000),
    DlpfSetting(5, 5, 1000),
)
# MPU-9250: CONFIG.DLPF_CFG for the gyro, ACCEL_CONFIG2.A_DLPFCFG (set to the same index) for
# the accelerometer, whose rows are 218.1, 218.1, 99, 44.8, 21.2, 10.2, 5.05 Hz.
DLPF_MPU9250 = (
    DlpfSetting(218.1, 250, 8000), DlpfSetting(218.1, 184, 1000), DlpfSetting(99, 92, 1000),
    DlpfSetting(44.8, 41, 1000), DlpfSetting(21.2, 20, 1000), DlpfSetting(10.2, 10, 1000),
    DlpfSetting(5.05, 5, 1000),
)
DLPF_BY_CHIP = {'mpu6050': DLPF_MPU6050, 'mpu6500': DLPF_MPU9250, 'mpu9250': DLPF_MPU9250}


def temperature_celsius(chip: str, raw: int) -> float:
    if chip == 'mpu6050':
        return raw / 340.0 + 36.53
    return raw / 333.87 + 21.0
