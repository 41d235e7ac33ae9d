"""The use cases, one job each, meeting only in the store.

``ingest`` (an export file into desired state), ``apply`` (pending operations onto Hemnet),
``poll`` (Hemnet's state back into the store), ``reconcile`` (a full comparison with what
Hemnet has); beside them ``api_key`` (renewing the key), ``adopt`` (recording a listing
found already on Hemnet), ``image_audit`` (reconcile's second-copy check) and
``reprocess`` (an archived export back to the inbox). None imports another use case.
"""
