"""IMU driver: MPU-6050/9250 and BNO055 protocols, calibration, orientation filter, driver node."""
