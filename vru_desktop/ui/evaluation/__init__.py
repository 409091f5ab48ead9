"""The Evaluation tab: a run scored against ground truth, plots, error browser, comparison."""
