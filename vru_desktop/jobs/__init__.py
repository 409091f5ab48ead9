"""Background work for the window: :mod:`~vru_desktop.jobs.operations` runs any core function off the
UI thread; the detection worker and the run queue run detection runs (progress, pause, resume, stop)."""
