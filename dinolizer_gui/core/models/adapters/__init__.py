"""One module per model: how to build it from checkpoints and how it computes a map (imported lazily)."""
