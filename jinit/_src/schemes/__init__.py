"""One module per family of initialization schemes (each a factory returning a frozen initializer)."""
