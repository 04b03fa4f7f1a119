"""Theory on top of the schemes: activations, Gauss quadrature, variance-preserving gains, mean-field criticality."""
