"""`python -m pkgdemo`: the package body runs as <pkgdemo>, this file as <__main__>."""

from pkgdemo.shapes import Square
from pkgdemo.util import scale

print("pkgdemo", Square(2).area(), scale(3, 4))
