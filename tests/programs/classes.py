"""Classes: methods, properties, slots, inheritance, an attribute with a secret-like name."""


class Account:
    def __init__(self, owner, balance):
        self.owner = owner
        self.balance = balance
        self.api_token = "tok-ACCOUNT-SECRET"

    def deposit(self, amount):
        self.balance += amount
        return self.balance


class Savings(Account):
    rate = 0.02

    def interest(self):
        return round(self.balance * self.rate, 2)


class Point:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y


account = Savings("ada", 100)
account.deposit(50)
point = Point(1, 2)
print(account.balance, account.interest(), point.x + point.y)
