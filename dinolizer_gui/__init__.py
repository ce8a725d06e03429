"""DinoLizer GUI: forensic localisation of generative-inpainting edits."""

__version__ = "0.1.0"
