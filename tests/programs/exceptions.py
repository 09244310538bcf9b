"""Exceptions raised, caught, re-raised and chained."""


class InsufficientFunds(Exception):
    pass


def withdraw(balance, amount):
    if amount > balance:
        raise InsufficientFunds(f"need {amount - balance} more")
    return balance - amount


def careful(balance, amount):
    try:
        return withdraw(balance, amount)
    except InsufficientFunds as error:
        print("declined:", error)
        return balance


def reraise():
    try:
        withdraw(1, 5)
    except InsufficientFunds as error:
        raise RuntimeError("withdrawal failed") from error


print(careful(10, 3), careful(1, 5))
try:
    reraise()
except RuntimeError as error:
    print("chained:", error, "<-", error.__cause__)
