"""Stores that implement the hooks with their backend's own client."""
