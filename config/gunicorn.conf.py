"""Gunicorn settings for the web process: ``gunicorn -c config/gunicorn.conf.py config.wsgi``.

Every error gunicorn answers itself (oversize headers, overlong request lines, malformed requests) is JSON
``{"code", "detail"}`` like the application's, through the worker classes in ``config.gunicorn_workers``. The access
log goes to stdout. Several workers share Prometheus metrics through ``PROMETHEUS_MULTIPROC_DIR`` (a fresh directory
per start unless it is set), and a worker that exits is marked dead there. Settings come from the environment
(``GUNICORN_*``, ``PORT``) and can be overridden on the command line.
"""

import os
import shutil
import tempfile

_default_bind = f"{os.environ.get('BIND_ADDRESS', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
bind = os.environ.get("GUNICORN_BIND") or _default_bind
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "config.gunicorn_workers.JsonThreadWorker" if threads > 1 else "config.gunicorn_workers.JsonSyncWorker"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# gunicorn's control socket has one default path per user: two stacks on one machine would fight over it.
control_socket_disable = True

# Set here, in the master, before any worker imports prometheus_client.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="bp-prometheus-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir


def on_starting(server):
    # Counts from an earlier run of this directory would be added to this run's.
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
