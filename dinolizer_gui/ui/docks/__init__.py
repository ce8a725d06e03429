"""The window's dock widgets: the triage table and the thresholds, scores and regions."""
