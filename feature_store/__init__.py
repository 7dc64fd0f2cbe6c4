"""Feast repository, the Feast-layout Redis codec and offline-store helpers (lands with the feature-store issue)."""
