"""Streaming jobs, sources and the replay producer. Never imports infra."""
