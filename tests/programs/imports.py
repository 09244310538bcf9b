"""Imports a package: module bodies are labelled <pkgdemo>, <pkgdemo.shapes>."""

from pkgdemo import shapes
from pkgdemo.util import scale

square = shapes.Square(3)
print(square.area(), scale(square.area(), 2))
