"""Settings of the gunicorn that the HTTP benchmarks (3 and 6) start: production settings as
deployed (DEBUG off, WhiteNoise, GZip), with a URLconf that adds the bare reference views
(``bench/web_urls.py``) in front of the site's own, so that the subject and its reference are
served by the same server processes."""

from cms.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.web_urls"
