"""Payments: the values here are what the sample filter protects."""


class PaymentError(Exception):
    """The card was declined."""


def charge(card_number, amount, api_key):
    last4 = card_number[-4:]
    if amount <= 0:
        raise PaymentError(f"nothing to charge on card ending {last4}")
    receipt = {"card": f"****{last4}", "amount": amount, "authorised": True}
    return receipt
