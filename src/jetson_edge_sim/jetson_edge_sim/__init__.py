"""Stand-ins for hardware: virtual LiDAR, IMU emulators, thermal model (never on a robot)."""
