"""Scorecard YAML files shipped with Hotline (package data for ``recordings.scorecard``)."""
