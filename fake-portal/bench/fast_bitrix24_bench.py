"""fast_bitrix24's get_all against the fake portal; prints one JSON line like `bench rust`."""
import json
import resource
import sys
import time
import urllib.request
import warnings

from fast_bitrix24 import Bitrix

port, items = int(sys.argv[1]), int(sys.argv[2])
# "slow": fast_bitrix24's own slow mode, one request at a time.
slow = len(sys.argv) > 3 and sys.argv[3] == "slow"


def stats():
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/fake/stats") as r:
        return json.load(r)


before = stats()
b = Bitrix(f"http://127.0.0.1:{port}/rest/1/fakewebhooktoken0001/", verbose=False)
start = time.monotonic()
error = None
deals = []
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        if slow:
            with b.slow(1):
                deals = b.get_all("crm.deal.list")
        else:
            deals = b.get_all("crm.deal.list")
    except Exception as e:  # report the failure with the counters instead of a traceback
        error = f"{type(e).__name__}: {e}"
wall = time.monotonic() - start
after = stats()
requests = after["requests"] - before["requests"]
rejected = after["rate_rejections"] - before["rate_rejections"]
ids = [int(d["ID"]) for d in deals]
ideal = max(0.0, (requests - 50) / 2)
print(json.dumps({
    "client": "fast_bitrix24 (Python, get_all" + (", slow(1))" if slow else ")"),
    "items": len(deals),
    "expected": items,
    "unique": len(set(ids)) == items,
    "wall_s": round(wall, 1),
    "requests": requests,
    "rejected": rejected,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    "ideal_s": ideal,
    "over_ideal_pct": round((wall / ideal - 1) * 100, 1) if ideal else 0.0,
    "warnings": [str(w.message)[:120] for w in caught][:3],
    "error": error,
}))
