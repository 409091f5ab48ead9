"""The viewer: exact frames, playback, the annotation overlay and its editing, the timeline."""
