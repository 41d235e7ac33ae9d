"""The runtime: what runs the use cases and shows the daemon to the world.

``daemon`` (its life, jobs, signals and operators' requests), ``scheduler`` and ``watch``
(the triggers), ``services`` (the one wiring of client, applier and poller), ``httpserver``
and ``webhook`` (the HTTP endpoints), ``health`` and ``alerts`` (what needs a person),
``systemd``, ``listen`` and ``logline`` (plumbing; the counters are ``syncd.metrics``, which
every layer uses). Decides nothing about a listing: that is the core's and the use cases'
work.
"""
