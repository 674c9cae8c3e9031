"""Settings of the API benchmark's server only: the project's settings with a URLconf that adds a trivial view."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
