"""Profiles to launch plan, process supervisor and the jetson-edge command."""
