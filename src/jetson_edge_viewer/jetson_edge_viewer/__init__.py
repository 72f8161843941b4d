"""Live viewer: the suite's topics served over the Foxglove WebSocket protocol."""
