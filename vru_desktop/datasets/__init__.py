"""Datasets: readiness of each video, the dataset table query, statistics, and the exchange formats."""
