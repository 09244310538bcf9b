"""Re-filters and exports traces for tests/test_trace_parity.py, in a
process of its own so that several programs' traces are processed at once
(the engine's functions hold the GIL).

Reads a JSON list of tasks on stdin, each
``{"refilter": null | {"input", "output", "filters", "module_names"}, "export": [TRACE, ...]}``:
writes the re-filtered trace with ``tracesieve.refilter`` (the function the
``refilter`` command calls), then each TRACE's canonical JSON export next to
it (``X.tsieve`` -> ``X.json``) with ``tracesieve.export``."""

import json
import sys

import tracesieve


def main():
    for task in json.load(sys.stdin):
        job = task["refilter"]
        if job:
            tracesieve.refilter(job["input"], job["output"], job["filters"], module_names=job["module_names"])
        for trace in task["export"]:
            tracesieve.export(trace, "json", trace[: -len(".tsieve")] + ".json", canonical=True)


if __name__ == "__main__":
    main()
