"""The lake: its days, commit markers, retention and garbage collection (``store.py``)."""
