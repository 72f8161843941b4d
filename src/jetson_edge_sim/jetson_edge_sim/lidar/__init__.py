"""Virtual Velodyne: a simulated room, the packet encoder and the node sending real UDP."""
