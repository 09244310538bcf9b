"""Import state that changes while the program runs, for the `paths`
naming mode: a `src` folder is put on sys.path half-way through, and a
plugin is loaded from its file under a name of its own (not the name its
path gives, and not registered in sys.modules).

Module names differ between the modes: this script is `__main__` under
`globals` and `syspath_layout` under `paths`; the plugin is
`plugins.greeter` under `globals` and `plugin_dir.greeter` under `paths`
(its folder is below the script's, which is sys.path[0])."""

import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def load_plugin(name, relative):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, relative))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def before_src():
    return len(sys.path) > 0


before_src()
sys.path.insert(0, os.path.join(HERE, "src"))
from lib_tools import text  # noqa: E402
from lib_tools.numbers import mean  # noqa: E402

greeter = load_plugin("plugins.greeter", os.path.join("plugin_dir", "greeter.py"))
print(text.shout("hello"), mean([1, 2, 3, 6]), greeter.greet("ada"))
