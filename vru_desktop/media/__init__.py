"""Video probing, fingerprints and frame access (no Qt)."""
