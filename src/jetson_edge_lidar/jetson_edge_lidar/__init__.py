"""Velodyne LiDAR driver: packet decoder, scan assembly, UDP and pcap sources, driver node."""
