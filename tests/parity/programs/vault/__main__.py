"""`python -m vault`: stores two secrets and reads one back."""

import sys

from vault import Store, VERSION
from vault.util import checksum


def master():
    return "".join(["m", "a", "s", "t", "e", "r"]) + str(len(sys.argv))


store = Store(master())
ticket = store.put("db", "hunter" + str(2 * 21))
store.put("api", "k-" + format(0xBEEF, "x"))
plain = store.get("db", ticket)
print("vault", VERSION, len(store), checksum(plain), sys.argv[1:])
