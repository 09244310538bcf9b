"""An uncaught KeyboardInterrupt: the same traceback, and death by SIGINT."""


def interrupted():
    raise KeyboardInterrupt


print("before")
interrupted()
