"""Detection runs in the window: the Runs tab, the run dialog, the model manager with class maps."""
