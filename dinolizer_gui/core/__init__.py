"""Qt-free analysis core shared by the CLI, the GUI, the batch runner and the tests."""
