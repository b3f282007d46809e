"""The seed's Python RecordBuffer recipe (packages/server/test/conformance/hosted_api_client.py), under load.

Generates N events-like records (the same shape as src/client.ts), adds them one at a time to a naive buffer that
flushes every `max_records` records (or after `max_age` seconds): each flush posts the batch synchronously with the
hosted API's batch key and remembers its job; at the end it waits until every job is terminal. Prints one JSON line:
the seconds until every record is stored, and the jobs' counts.

Usage: python3 record_buffer_recipe.py <base-url> <token> <records> <tag> [max_records]
"""
import hashlib
import json
import sys
import threading
import time
import urllib.request
import uuid


class RecordBuffer:
    """A naive buffer: flushes when it holds `max_records` records or its oldest is `max_age` seconds old."""

    def __init__(self, flush, max_records, max_age):
        self.flush_fn = flush
        self.max_records = max_records
        self.max_age = max_age
        self.records = []
        self.lock = threading.Lock()
        self.timer = None

    def add(self, record):
        with self.lock:
            self.records.append(record)
            if len(self.records) >= self.max_records:
                self._flush()
            elif self.timer is None:
                self.timer = threading.Timer(self.max_age, self._on_age)
                self.timer.daemon = True
                self.timer.start()

    def _on_age(self):
        with self.lock:
            self.timer = None
            if self.records:
                self._flush()

    def _flush(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        batch, self.records = self.records, []
        self.flush_fn(batch)

    def close(self):
        with self.lock:
            if self.records:
                self._flush()
            elif self.timer is not None:
                self.timer.cancel()
                self.timer = None


def main():
    base, token, count, tag = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    max_records = int(sys.argv[5]) if len(sys.argv) > 5 else 500
    jobs = []

    def request(method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(base + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + token)
        if body is not None:
            req.add_header("Content-Type", "application/json")
            req.add_header(
                "Idempotency-Key",
                str(uuid.UUID(hashlib.md5(json.dumps(body["records"], sort_keys=True, ensure_ascii=True).encode()).hexdigest())),
            )
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    def flush(batch):
        jobs.append(request("POST", "/records/events/append-batch", {"records": batch})["data"]["jobId"])

    started = time.monotonic()
    buffer = RecordBuffer(flush, max_records=max_records, max_age=5)
    for i in range(count):
        buffer.add({
            "session_id": "s-%d" % (i % 977),
            "event": "%s-%d" % (tag, i),
            "url": "https://example.com/p/%d" % (i % 101),
            "occurred_at": "2026-04-21T15:00:00Z",
            "user_id": "u-%d" % (i % 4999),
            "properties": {"amount": (i % 1000) / 7, "items": i % 5},
        })
    buffer.close()
    accepted_at = time.monotonic()
    inserted = 0
    for job_id in jobs:
        while True:
            job = request("GET", "/records/events/jobs/" + job_id)["data"]
            if job["state"] in ("completed", "failed"):
                inserted += job["metrics"]["insertedRows"]
                break
            time.sleep(0.2)
    print(json.dumps({
        "seconds": time.monotonic() - started,
        "acceptedSeconds": accepted_at - started,
        "jobs": len(jobs),
        "inserted": inserted,
    }))


main()
