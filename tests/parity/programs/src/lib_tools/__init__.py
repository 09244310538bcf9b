"""A package found only after syspath_layout.py adds `src` to sys.path."""
