"""Benchmarks of the suite's packages, run by ``jetson-edge bench NAME``."""
