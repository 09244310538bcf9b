"""Threads whose targets call helpers of another module, with a secret in
their arguments, run one after the other; the second thread's target fails
with an uncaught exception, which threading's excepthook prints (the
program carries on and exits 0)."""

import operator
import threading

from vault.util import checksum

log = []


def handle(job_id, auth_token):
    digest = checksum(auth_token)
    log.append((job_id, digest))
    return digest


def explode(job_id):
    log.append((job_id, "boom"))
    raise RuntimeError(f"job {job_id} failed")


def run(label, target, *args):
    # As in tests/programs/threads.py: no Thread object in recorded variables,
    # and start and join on one line so the main thread records no event while
    # the worker runs.
    start, join = operator.attrgetter("start", "join")(threading.Thread(target=target, args=args, name=label))
    start(); join()  # noqa: E702


run("job-1", handle, 1, "t0ken-" + "one")
run("job-2", explode, 2)
run("job-3", handle, 3, "t0ken-" + "three")
print(log)
