"""A secret that travels (issue 13): passed to `login` as `password`, then
inside a message given to `audit` under a plain name. The browser test
records it permissively and has the playground redact `arg:password`: the
message is then redacted by value, and the page says where its text was
learned (and goes there); `connect`'s options hold it under the key
`password`, which the same pattern redacts. The secret is made at run
time, so the embedded source does not hold it."""


def make_secret():
    return "-".join(["pw", format(7 * 104729, "x"), "zz"])


def login(user, password):
    return len(user) + len(password)


def audit(entry):
    return len(entry)


def connect(options):
    return sorted(options)


secret = make_secret()
login("ada", secret)
print(audit("login by ada with " + secret))
print(connect({"password": secret, "host": "db"}))
