"""IMU emulators: BNO055 (UART on a pty) and MPU-6050/9250 (I2C registers) with simulated motion."""
