"""The jetson_edge_lidar exception tree; messages say what to do about the problem."""


class LidarError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(LidarError, ValueError):
    """A configuration value is invalid (bad model name, cut angle, range limits...)."""


class SourceError(LidarError, OSError):
    """A packet source could not be opened or read (socket bind, missing or non-pcap file)."""
