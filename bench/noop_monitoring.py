"""Runs a workload of workloads.py under a sys.monitoring LINE callback that
does nothing (CPython 3.12+): the floor any line-level recorder built on
sys.monitoring starts from. `python noop_monitoring.py workloads.py NAME`."""

import runpy
import sys

monitoring = sys.monitoring
TOOL = 4  # not one of the named ids (debugger 0, coverage 1, profiler 2, optimizer 5)


def line(code, number):
    return None


monitoring.use_tool_id(TOOL, "noop-line")
monitoring.register_callback(TOOL, monitoring.events.LINE, line)
monitoring.set_events(TOOL, monitoring.events.LINE)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
