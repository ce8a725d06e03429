"""Running the networks: what an analysis is given and gives back, the device and precision of each model,
the window grids and the inference loop."""
