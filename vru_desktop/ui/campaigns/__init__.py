"""Campaigns in the window: the Campaigns tab."""
