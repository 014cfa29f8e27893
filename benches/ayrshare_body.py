"""Prints the benchmarks' webhook body: an Ayrshare `scheduled` result with 20 posts (2.6 KB).
Its ids and URLs compress about 2:1 in the Store, as real ones do; padding would vanish."""
import json

post = {"action": "scheduled", "created": "2026-11-27T18:00:00Z", "code": 200, "status": "success",
        "refId": "7f3c9a1e5b2d4c6e8a0f1b3d5e7a9c1e3f5b7d90", "id": "Zt4pQ8wNc2Lk6RbY0sHd",
        "hookId": "hkB7mV1sQ9cX4zR2nT6e", "errors": [], "url": "https://hooks.example.dev/ayrshare",
        "postIds": [{"postUrl": f"https://example.com/p/{i}", "platform": p, "status": "success",
                     "id": f"{i:020d}"}
                    for i, p in enumerate(["twitter", "facebook", "instagram", "linkedin", "tiktok"] * 4)]}
print(json.dumps(post))
