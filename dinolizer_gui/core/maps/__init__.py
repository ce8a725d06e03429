"""From a probability map to what an examiner sees: masks, regions, image-level scores and pictures."""
