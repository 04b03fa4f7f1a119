"""Diagnostics: signal propagation, plots, the draws-versus-law checker, a progress bar, the catalog of scheme names."""
