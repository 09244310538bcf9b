"""Code objects whose filename is a FIFO or a device: embedding their
source must not block (a FIFO) or read forever (/dev/zero)."""
import os
import tempfile

with tempfile.TemporaryDirectory() as folder:
    fifo = os.path.join(folder, "source.fifo")
    os.mkfifo(fifo)
    for filename in (fifo, "/dev/zero"):
        namespace = {}
        exec(compile("def g(x):\n    y = x + 1\n    return y\n", filename, "exec"), namespace)
        print(namespace["g"](41))
