"""Real-time control executor: scheduling set-up, periodic loop, controller plug-ins."""
