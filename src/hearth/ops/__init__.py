"""Operating the gateway: Prometheus metrics, per-device health, recent logs, readiness and the system summary.

The hot paths (the bus, the executor) only bump plain counters here; ``prometheus_client`` is imported at the
first scrape, never at start, and reads those counters then.
"""

from hearth.ops.monitoring import Monitoring

__all__ = ["Monitoring"]
