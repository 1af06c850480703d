"""Benchmark 3 (issue 8): ``POST /api/v1/credentials/verify`` over HTTP, requests per second,
against a bare Django JSON view served by the same gunicorn. Target: at least 50 % of the bare
view's requests per second.

gunicorn runs as docs/deployment.md deploys it (4 processes x 2 threads, production settings,
persistent database connections) with ``bench.web_settings``: the site's URLconf plus
``/bench/bare.json`` (a JSON view, no database), so both go through the same server and
middleware. ``wrk`` (one thread, 8 keep-alive connections, on the same machine) posts, in
turn, one of 20 distinct issued Roadwise credentials per request with a platform API key; the
bare view gets the same bodies. Endpoint and bare view alternate round by round.
"""

import json
import statistics

from bench.common import (
    Context,
    Row,
    alternate,
    issue_credentials_unqueued,
    make_course,
    make_platform_key,
)
from bench.web import collectstatic, fetch, gunicorn, web_env, wrk, wrk_available

PATH = "/api/v1/credentials/verify"
TARGET = 0.5


def _body(credential, **extra) -> bytes:
    return json.dumps(
        {"credential": json.loads(credential.document), **extra}, ensure_ascii=False
    ).encode()


def run(ctx: Context) -> list[Row]:
    if not wrk_available():
        raise RuntimeError("wrk is missing: apt-get install wrk (see bench/README.md)")
    distinct = ctx.size(20, 4)
    seconds = ctx.size(6, 2)
    batch_size = ctx.size(100, 5)
    course = make_course()
    credentials = issue_credentials_unqueued(course, max(distinct, batch_size))
    key = make_platform_key()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    bodies = [_body(c) for c in credentials[:distinct]]
    fastest = [_body(c, proofs="fastest") for c in credentials[:distinct]]
    batch = json.dumps(
        {"credentials": [json.loads(c.document) for c in credentials[:batch_size]]}
    ).encode()
    env = web_env()
    collectstatic(env)
    failures: list[str] = []
    with gunicorn(env) as base:
        # The work is real: each credential verifies, a tampered one does not, the key counts.
        for body in [*bodies, *fastest]:
            status, answer, _h = fetch(base + PATH, method="POST", body=body, headers=headers)
            data = json.loads(answer)
            if status != 200 or data.get("verified") is not True:
                raise RuntimeError(f"verify did not pass: {status} {answer[:300]!r}")
        tampered = json.loads(bodies[0])
        tampered["credential"]["credentialSubject"]["name"] = "篡改"
        status, answer, _h = fetch(
            base + PATH, method="POST", body=json.dumps(tampered).encode(), headers=headers
        )
        if status != 200 or json.loads(answer).get("verified") is not False:
            raise RuntimeError(f"a tampered credential was not refused: {answer[:300]!r}")
        status, _a, _h = fetch(base + PATH, method="POST", body=bodies[0], headers={})
        if status != 401:
            raise RuntimeError(f"no API key answered {status}, not 401")
        status, answer, _h = fetch(base + PATH, method="POST", body=batch, headers=headers)
        if status != 200 or json.loads(answer)["verified"] != batch_size:
            raise RuntimeError(f"the batch did not verify: {answer[:300]!r}")
        for _ in range(3):  # warm every worker process
            wrk(base + PATH, seconds=1, method="POST", bodies=bodies, headers=headers)
            wrk(base + "/bench/bare.json", seconds=1, method="POST", bodies=bodies, headers=headers)

        def measure(url, payloads, *, span=seconds, connections=8):
            def once() -> float:
                result = wrk(
                    url, seconds=span, connections=connections, method="POST",
                    bodies=payloads, headers=headers,
                )  # fmt: skip
                if result.errors:
                    failures.append(f"{url}: {result.errors} errors of {result.requests}")
                return result.per_second

            return once

        main = alternate(
            ctx.rounds, measure(base + PATH, bodies), measure(base + "/bench/bare.json", bodies)
        )
        rounds_extra = max(2, ctx.rounds // 2)
        quick = alternate(
            rounds_extra,
            measure(base + PATH, fastest),
            measure(base + "/bench/bare.json", fastest),
        )
        # A batch takes seconds: fewer connections, longer rounds, so each round completes many.
        batched = alternate(
            rounds_extra, measure(base + PATH, [batch], span=max(20, seconds * 3), connections=2)
        )
    if failures:
        raise RuntimeError("requests failed while measuring: " + "; ".join(failures[:5]))
    ratio = main.subject_median / main.reference_median
    batch_rps = batched.subject_median
    setup = (
        "gunicorn 4 processes × 2 threads (docs/deployment.md), production settings, "
        f"wrk 1 thread, 8 keep-alive connections, {seconds} s per round, {distinct} distinct "
        "credentials in turn, same bodies to the bare view"
    )
    ctx.notes["http_verify"] = (
        "Benchmark 3 (`bench/http_verify.py`). " + setup + ". Before timing: every credential "
        "answers verified true over HTTP (both proof modes), a tampered one verified false, no "
        "key 401, the batch all verified. The reference is `/bench/bare.json` "
        "(`bench/web_urls.py`), a JSON view served by the same gunicorn and middleware. "
        "wrk runs on the same two cores as gunicorn and PostgreSQL."
    )
    return [
        Row(
            "3a",
            "POST /api/v1/credentials/verify, one credential per request (default: all proofs)",
            main.subject_median,
            "requests/s",
            reference="bare Django JSON view, same gunicorn",
            reference_figure=main.reference_median,
            target="≥ 50 % of the bare view",
            met=ratio >= TARGET,
            notes=f"{main.spread()}; mean latency of the endpoint at 8 connections ≈ "
            f"{8 / main.subject_median * 1000:.0f} ms. {setup}.",
        ),
        Row(
            "3b",
            "POST /api/v1/credentials/verify, one credential, `proofs: fastest` (JCS proof only)",
            quick.subject_median,
            "requests/s",
            reference="bare Django JSON view, same gunicorn",
            reference_figure=quick.reference_median,
            target="— (for information)",
            met=None,
            notes=quick.spread() + ".",
        ),
        Row(
            "3c",
            f"POST /api/v1/credentials/verify, batches of {batch_size} (fastest, the batch "
            "default)",
            batch_rps * batch_size,
            "credentials/s",
            target="— (does batch size matter?)",
            met=None,
            notes=f"{batch_rps:.2f} requests/s of {batch_size} credentials "
            f"(median of {len(batched.subject)} rounds, "
            f"{statistics.median(batched.subject) * batch_size:,.0f} credentials/s) against "
            f"{quick.subject_median:,.0f} credentials/s one per request in the same mode: "
            f"{batch_rps * batch_size / quick.subject_median:.1f}× as many credentials per "
            "second in batches.",
        ),
    ]
