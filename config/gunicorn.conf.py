"""Gunicorn settings for the web process: ``gunicorn -c config/gunicorn.conf.py config.wsgi``.

Every error gunicorn answers itself (oversize headers, overlong request lines, malformed requests) is JSON
``{"code", "detail"}`` like the application's, through the worker classes in ``config.gunicorn_workers``. Settings
come from the environment (``GUNICORN_*`` below) and can be overridden on the command line.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "config.gunicorn_workers.JsonThreadWorker" if threads > 1 else "config.gunicorn_workers.JsonSyncWorker"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "warning")
