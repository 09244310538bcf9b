"""The store: a secret master password (argument and attribute), entries
kept scrambled, a module global read by its methods."""

from .crypto.cipher import scramble, unscramble

DEFAULT_TOKEN = "tok-" + "default"
MAX_ENTRIES = 8


class Store:
    def __init__(self, master_password):
        self.master_password = master_password
        self.entries = {}
        self.owner = "ada"

    def put(self, name, secret):
        if len(self.entries) >= MAX_ENTRIES:
            raise OverflowError(name)
        key = len(self.master_password)
        self.entries[name] = scramble(secret, key)
        return self.ticket(name)

    def ticket(self, name):
        return DEFAULT_TOKEN + ":" + name

    def get(self, name, token):
        if not token.endswith(name):
            raise KeyError(name)
        return unscramble(self.entries[name], len(self.master_password))

    def __len__(self):
        return len(self.entries)
