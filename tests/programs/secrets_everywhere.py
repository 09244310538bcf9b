"""A secret in every value kind: argument, local, global, return, attribute,
and in dict entries under secret-looking keys (nested too, and `**kwargs`).

The secret is built at run time (the trace embeds this source, so it must not
hold the secret as a literal) and is only ever stored under secret-looking
names, which the built-in filter redacts: the tests check that its text
(make_secret's result) appears nowhere in the trace.
"""


def make_secret():
    return "-".join(["sentinel", format(8338076, "x")]).upper()


API_KEY = make_secret()


class Session:
    def __init__(self, password):
        self.password = password
        self.user = "ada"


def login(password, user):
    token = password
    session = Session(token)
    return session.user + (":ok" if token else "")


def get_secret():
    return API_KEY


def uses_global():
    return len(API_KEY)


def connect(host, **options):
    return sorted(options)


def settings():
    return {"api_key": API_KEY, "nested": {"token": API_KEY, "host": "db"}, "port": 5432}


connect("db", password=get_secret(), timeout=3)
config = settings()
print(login(get_secret(), "ada"), uses_global(), len(get_secret()))
