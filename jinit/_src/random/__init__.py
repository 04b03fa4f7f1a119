"""The random core: an unrolled Threefry, jax-exact samplers on top of it, Householder orthogonal matrices."""
