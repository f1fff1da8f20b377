"""Build, generation and benchmark scripts for carecloud-async (not shipped)."""
