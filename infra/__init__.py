"""The composition root: configuration, local stack, jars, operator CLI."""
