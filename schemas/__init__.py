"""Avro schemas and codecs for every freshrec message. Imports nothing else of freshrec."""
