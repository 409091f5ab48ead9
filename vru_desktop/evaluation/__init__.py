"""Evaluation: COCO-exact matching and metrics, pedestrian and track metrics, statistics, reports (no Qt)."""
