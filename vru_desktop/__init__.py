"""vru_desktop: validate vulnerable-road-user detection on camera video.

Layers (imports point one way): ``ui`` → ``jobs`` → core (``store``, ``media``, ``library``,
``detection``, ``evaluation``, ``datasets``). Core never imports Qt.
"""

__version__ = "0.1.0"
APP_NAME = "vru_desktop"
