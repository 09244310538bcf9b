"""A secret sentinel in every value kind: argument, local, global, return, attribute."""

SENTINEL = "SENTINEL-7f3a9c"
API_KEY = SENTINEL


class Session:
    def __init__(self):
        self.password = SENTINEL
        self.user = "ada"


def login(password, user):
    token = password
    session = Session()
    return session.user + (":ok" if token else "")


def get_secret():
    return SENTINEL


def uses_global():
    return len(API_KEY)


print(login(SENTINEL, "ada"), uses_global(), len(get_secret()))
