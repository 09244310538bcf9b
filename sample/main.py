"""The sample program: fill a cart, pay, handle a declined payment."""

from shop.cart import Cart
from shop.payment import PaymentError, charge

API_KEY = "sk_test_not_a_real_key"


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def main():
    cart = Cart()
    cart.add("book", 1250)
    cart.add("pen", 199, quantity=3)
    total = cart.total()
    receipt = charge("4242424242424242", total, API_KEY)
    try:
        charge("4000000000000002", 0, API_KEY)
    except PaymentError as error:
        print(f"declined: {error}")
    print(f"paid {receipt['amount']} cents with {receipt['card']}; fib(10) = {fib(10)}")


if __name__ == "__main__":
    main()
