"""Asset checks of the monitoring tables: ``drift_events`` and ``budget_status`` against their contracts, on every
daily partition a run builds (the same generated checks as the warehouse's, ``pipelines/warehouse/checks.py``).

A broken monitoring table blocks the digest that would report it.
"""

from pipelines.warehouse.checks import table_checks

MONITORED = ["drift_events", "budget_status"]
monitoring_checks = table_checks("monitoring_checks", MONITORED, [])
