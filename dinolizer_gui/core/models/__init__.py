"""Localizers: checkpoint layouts, networks and the registry."""
