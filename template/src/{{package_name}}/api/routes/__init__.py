"""One router per model."""
