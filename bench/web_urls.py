"""The site's URLconf plus the bare reference views of the HTTP benchmarks (3 and 6).

- ``/bench/bare.json``: a bare Django JSON view (any method, no CSRF, no database), the
  reference of benchmark 3 (the verify endpoint);
- ``/bench/bare-page/``: a bare Django template view (``bench/templates/bench_bare.html``, a
  page of about the course page's size, no database), the reference of benchmark 6.

Both go through the whole middleware stack, as the pages and the API do.
"""

from pathlib import Path

from django.http import JsonResponse
from django.template import engines
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from cms.urls import urlpatterns as site_urlpatterns

_TEMPLATE = engines["django"].from_string(
    (Path(__file__).resolve().parent / "templates" / "bench_bare.html").read_text("utf-8")
)
_ITEMS = [{"n": n, "title": f"第{n}课：保持安全车距", "done": n % 3 == 0} for n in range(1, 13)]


@csrf_exempt
def bare_json(request):
    return JsonResponse({"verified": True, "checks": {"proof": {"result": "pass"}}})


def bare_page(request):
    from django.http import HttpResponse

    return HttpResponse(_TEMPLATE.render({"title": "新能源汽车安全", "items": _ITEMS}, request))


urlpatterns = [
    path("bench/bare.json", bare_json),
    path("bench/bare-page/", bare_page),
    *site_urlpatterns,
]
