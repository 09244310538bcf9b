"""A tiny shop: the sample program tracesieve records."""
