"""Velodyne LiDAR driver: packet decoder, scan assembly, UDP and pcap sources, virtual sensor."""
