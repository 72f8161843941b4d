"""Power and thermal manager: sysfs and tegrastats readers, nvpmodel/clocks/fan actuators, thermal policy."""
