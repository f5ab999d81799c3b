"""Data quality: expectation suites generated from the table contracts, and cross-table invariants."""
