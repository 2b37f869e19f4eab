"""Edgewise."""
