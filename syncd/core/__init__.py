"""The pure core: what a listing is, what syncd may send, and where a listing stands.

``domain`` (the canonical listing and Hemnet's known state), ``ops`` (operations as data),
``plan`` (desired and known state in, operations out), ``stages`` (one stage per listing),
``blanking`` (the suspicious-update guard), ``errors`` (the error tree), ``limits`` (what
Hemnet accepts) and ``clock`` (the one place that reads the wall clock). Nothing here
touches a file, a database or the network; everything else builds on it.
"""
