"""carecloud-async."""
