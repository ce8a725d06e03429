"""Controllers: QObjects without widgets that hold the viewer's behaviour and bind it to the core."""
