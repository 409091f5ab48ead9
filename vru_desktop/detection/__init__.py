"""Detection: model files and their checksums, the COCO → VRU mapping, the run loop, runs and the queue.

Nothing here imports torch or ultralytics at module import; the detector is loaded when a run starts.
"""
