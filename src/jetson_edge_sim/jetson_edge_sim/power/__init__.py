"""Thermal model of a Jetson board and emulated nvpmodel/jetson_clocks over its sysfs tree."""
