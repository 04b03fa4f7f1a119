"""Adapters for other JAX libraries: haiku's ``(shape, dtype)`` and keras' ``Initializer`` conventions."""
