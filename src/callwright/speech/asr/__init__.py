"""speech/asr."""
