"""Counts one schemathesis run of tests/api_fuzz.sh from its HAR report.

Usage: api_fuzz_count.py REQUESTS.har OPENAPI.json MIN_REQUESTS MIN_OK

Prints "N requests to M operations, K with a 2xx answer, statuses {...}"
and exits 1 when the run made fewer than MIN_REQUESTS requests or fewer
than MIN_OK operations answered 2xx at least once: a run whose token did
not work (every answer a documented 401) or that could not reach the
daemon must not pass.
"""

import collections
import json
import re
import sys
import urllib.parse


def operations(document):
    """(method, compiled regex of the path template, template) per operation."""
    found = []
    for template, item in document["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]*\\\}", "[^/]*", re.escape(template)) + "$"
        for method in item:
            if method in ("get", "put", "post", "delete", "patch"):
                found.append((method.upper(), re.compile(pattern), template))
    # The most specific first: /api/v1/stats/rankings before /api/v1/stats/{file}.
    found.sort(key=lambda op: op[2].count("{"))
    return found


def main():
    har_path, openapi_path, min_requests, min_ok = sys.argv[1:5]
    with open(openapi_path, encoding="utf-8") as f:
        ops = operations(json.load(f))
    try:
        with open(har_path, encoding="utf-8") as f:
            entries = json.load(f)["log"]["entries"]
    except (OSError, ValueError, KeyError) as e:
        print(f"no HAR report ({e})")
        return 1
    statuses = collections.Counter()
    touched = set()
    ok = set()
    for entry in entries:
        method = entry["request"]["method"].upper()
        path = urllib.parse.urlsplit(entry["request"]["url"]).path
        status = entry["response"]["status"]
        statuses[status] += 1
        op = next((t for m, r, t in ops if m == method and r.match(path)), None)
        if op is None:
            continue
        touched.add((method, op))
        if 200 <= status < 300:
            ok.add((method, op))
    print(
        f"{len(entries)} requests to {len(touched)} operations, {len(ok)} with a 2xx answer, "
        f"statuses {dict(sorted(statuses.items()))}"
    )
    if len(entries) < int(min_requests) or len(ok) < int(min_ok):
        print(f"too few: need at least {min_requests} requests and {min_ok} operations answering 2xx")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
