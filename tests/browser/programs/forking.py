"""A program that forks once: the parent calls `wait_for_child`, the child
calls `child_work` (only there; it calls `square` 10 times), so the browser
tests see which process a view shows. Recorded as a trace set: TRACE and
TRACE.d/PID.tsieve."""

import os


def square(n):
    return n * n


def child_work(n):
    total = 0
    for i in range(n):
        total += square(i)
    return total


def wait_for_child(pid):
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def main():
    pid = os.fork()
    if pid == 0:
        child_work(10)
        os._exit(0)
    return wait_for_child(pid)


if __name__ == "__main__":
    raise SystemExit(main())
