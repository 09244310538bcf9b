"""fork(): the child works and exits; the parent's trace stays its own."""
import os
import sys


def work(who, n):
    return sum(range(n)) + len(who)


pid = os.fork()
if pid == 0:
    work("child", 10)
    sys.stdout.flush()
    os._exit(3)
_, status = os.waitpid(pid, 0)
print("child exit", os.waitstatus_to_exitcode(status))
print("parent", work("parent", 20))
pid = os.fork()
if pid == 0:
    work("second child", 5)
    sys.exit(4)
_, status = os.waitpid(pid, 0)
print("second child exit", os.waitstatus_to_exitcode(status))
