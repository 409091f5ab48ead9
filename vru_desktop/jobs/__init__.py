"""QThread workers wrapping core pipelines: progress, pause, resume, stop, as Qt signals."""
