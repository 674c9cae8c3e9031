"""Operations: the health endpoint and Prometheus metrics (``/healthz``, ``/metrics``)."""
