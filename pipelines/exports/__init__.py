"""Exports of the books for other tools: the FOCUS cost and usage dataset (``focus.py``, ``assets.py``)."""
