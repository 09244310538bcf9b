"""Hostile strings in values and in a file name, for the viewer's tests:
the page must show them as text, never run or render them as HTML."""

import os
import runpy
import tempfile

SCRIPT = "<script>window.__pwned = 'script'</script>"
IMAGE = '"><img src=x onerror="window.__pwned = \'img\'">'


def greet(name, note=IMAGE):
    message = "hello " + name + note
    return message


greet(SCRIPT)

# A module whose very file name is hostile, run from a temporary folder.
folder = tempfile.mkdtemp(prefix="tracesieve-hostile-")
path = os.path.join(folder, '"><img src=x onerror=window.__pwned=1>.py')
with open(path, "w") as f:
    f.write("def inner(x='<b>bold</b>'):\n    y = x + '<i>'\n    return y\n\n\ninner()\n")
runpy.run_path(path)
print("done")
