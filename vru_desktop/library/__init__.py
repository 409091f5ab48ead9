"""Projects, video import and project assignment (no Qt)."""
