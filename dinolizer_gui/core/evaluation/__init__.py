"""Measuring the models against ground-truth masks (`dinolizer-gui evaluate`, the viewer's ground truth)."""
