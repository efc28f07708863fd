"""The benchmarks' shared timing harness: a comm that encodes like the kernel's, percentiles.

Imported by the ``bench_*.py`` scripts run as ``.venv/bin/python benchmarks/bench_x.py``
(their directory is on ``sys.path``)::

    from _timing import all_widgets, attach_comms, ms

    comms = attach_comms(all_widgets(panel))   # every widget now "sends" through one
    ...                                        # time the changes
    sum(c.messages for c in comms), sum(c.bytes for c in comms)
    ms(latencies, 95)                          # the p95 in milliseconds
"""

from __future__ import annotations

import json

import numpy as np


class EncodingComm:
    """Stands in for the kernel comm: encodes every message like the kernel session."""

    kernel = True

    def __init__(self, comm_id):
        self.comm_id = comm_id
        self.bytes = 0
        self.messages = 0

    def send(self, data=None, buffers=None, **_):
        self.messages += 1
        self.bytes += len(json.dumps(data, default=str))
        for b in buffers or ():
            self.bytes += memoryview(b).nbytes

    def on_msg(self, callback):
        pass

    def close(self, *args, **kwargs):
        pass


def all_widgets(root):
    """``root`` and every widget below it (``children``), each once."""
    seen, stack = [], [root]
    while stack:
        w = stack.pop()
        if any(w is s for s in seen):
            continue
        seen.append(w)
        stack.extend(getattr(w, "children", ()) or ())
    return seen


def attach_comms(widgets):
    """Give each widget (each once) an :class:`EncodingComm`; returns the comms."""
    comms, done = [], []
    for w in widgets:
        if any(w is d for d in done):
            continue
        done.append(w)
        w.comm = EncodingComm(f"bench-{len(comms)}")
        comms.append(w.comm)
    return comms


def ms(seconds, q):
    """The ``q``-th percentile of ``seconds``, in milliseconds."""
    return float(np.percentile(np.asarray(seconds), q)) * 1e3
