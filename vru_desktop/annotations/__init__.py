"""Annotations: editing with undo, tracks with keyframes and interpolation, reviewed frames (no Qt)."""
