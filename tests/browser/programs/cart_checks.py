"""A small pytest module whose one failing test the browser tests open:
its trace, recorded by the pytest plugin, must open at the failing
assertion. Not named test_*.py, so that the project's own pytest runs do
not collect it (make-traces.sh names it on pytest's command line)."""


def total(prices, discount):
    subtotal = sum(prices)
    return subtotal - subtotal * discount


def parse_quantity(text):
    try:
        return int(text)
    except ValueError:
        return 0


def test_quantities_parse():
    assert parse_quantity("3") == 3
    assert parse_quantity("three") == 0


def test_total_with_discount():
    quantity = parse_quantity("two")
    prices = [10, 20, 30] * max(quantity, 1)
    got = total(prices, discount=0.1)
    assert got == 50, f"total was {got}"
