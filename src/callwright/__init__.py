"""Callwright: an offline, speech-enabled IVR and call-QA engine."""

__version__ = "0.1.0"
