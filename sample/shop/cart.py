"""Shopping cart."""


class Cart:
    """Items with prices, in cents."""

    def __init__(self):
        self.items = []

    def add(self, name, price, quantity=1):
        self.items.append((name, price, quantity))
        return len(self.items)

    def total(self):
        total = 0
        for _name, price, quantity in self.items:
            total += price * quantity
        return total
