"""``torch.nn.init`` semantics on JAX arrays, in Flax or torch layout (what ``jinit.torch`` re-exports)."""
