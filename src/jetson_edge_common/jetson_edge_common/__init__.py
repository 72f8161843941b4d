"""Shared pure helpers: QoS presets, Image/PointCloud2 <-> numpy, diagnostics, parameters, profiles, timing statistics."""
