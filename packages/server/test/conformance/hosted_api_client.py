#!/usr/bin/env python3
"""A client of the hosted Records API, written the way its users write them, walking SPEC section 1.

usage: hosted_api_client.py BASE_URL TOKEN [--limited-token T] [--other-workspace-token T] [--read-only-token T]

BASE_URL is the origin (http://127.0.0.1:8787) or the API base (http://127.0.0.1:8787/public/v1): a client of
the hosted API only swaps the origin. TOKEN has every scope on the workspace that holds the built-in objects
`events` and `profiles`. The optional tokens enable the checks that need them: a token with a low rate limit
(429 and Retry-After), a token of another workspace (tenancy), a token without `records:write` (403).

HTTP goes through `requests` when it is installed, else through the standard library (`http.client`, which
`urllib.request` wraps); BATCHWRITE_HTTP=stdlib forces the standard library.

Prints one line per check, `ok <name>`, `FAIL <name>: <why>` or `skip <name>: <why>`, then
`summary: passed=N failed=N skipped=N transport=<requests|stdlib>`. Exit status 0 only when nothing failed.
"""

import hashlib
import http.client
import json
import os
import re
import sys
import threading
import time
import traceback
import urllib.parse
import uuid

try:
    if os.environ.get("BATCHWRITE_HTTP") == "stdlib":
        raise ImportError("standard library forced")
    import requests  # type: ignore
except ImportError:
    requests = None

NOW = "2026-04-21T15:00:00Z"
MAX_BODY_BYTES = 10_485_760
MAX_RECORDS = 10_000


# --------------------------------------------------------------------------------------------- transport


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "HTTP %d %s" % (self.status, self.body[:300].decode("utf-8", "replace"))


class RequestsTransport:
    name = "requests"

    def __init__(self):
        self.session = requests.Session()

    def send(self, method, url, headers, body, timeout):
        r = self.session.request(method, url, headers=headers, data=body, timeout=timeout)
        return Response(r.status_code, r.headers.items(), r.content)


class StdlibTransport:
    """http.client, reading the answer even when the server answers before the whole body is sent (a 413)."""

    name = "stdlib"

    def send(self, method, url, headers, body, timeout):
        parts = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
        try:
            target = parts.path + ("?" + parts.query if parts.query else "")
            conn.putrequest(method, target, skip_accept_encoding=True)
            for name, value in headers.items():
                conn.putheader(name, value)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders()
            if body is not None:
                try:
                    view = memoryview(body)
                    for offset in range(0, len(body), 1 << 16):
                        conn.send(view[offset : offset + (1 << 16)])
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the server answered early and closed: read that answer
            response = conn.getresponse()
            return Response(response.status, response.getheaders(), response.read())
        finally:
            conn.close()


TRANSPORT = RequestsTransport() if requests is not None else StdlibTransport()


# --------------------------------------------------------------------------------------------- the client


def batch_key(records):
    """The hosted docs' idempotency key of a batch (SPEC section 5)."""
    canonical = json.dumps(records, sort_keys=True, ensure_ascii=True)
    return str(uuid.UUID(hashlib.md5(canonical.encode()).hexdigest()))


class Client:
    def __init__(self, base, token):
        self.base = base
        self.token = token
        self.log = []  # (method, path, authenticated, Response) of every request
        self.throttled = 0  # 429s met and waited out

    def request(self, method, path, body=None, headers=None, raw=None, token="default", retry_429=True):
        hdrs = {"Accept": "application/json"}
        tok = self.token if token == "default" else token
        if tok is not None:
            hdrs["Authorization"] = "Bearer " + tok
        data = raw
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            hdrs["Content-Type"] = "application/json; charset=utf-8"
        hdrs.update(headers or {})
        for _ in range(30):
            r = TRANSPORT.send(method, self.base + path, hdrs, data, 60)
            self.log.append((method, path, tok is not None, r))
            if r.status == 429 and retry_429:
                self.throttled += 1
                time.sleep(float(r.header("Retry-After") or "1"))
                continue
            return r
        raise AssertionError("still 429 after 30 tries: %r" % r)

    def append(self, obj, records, key=None, headers=None, **kw):
        h = dict(headers or {})
        if key is not None:
            h["Idempotency-Key"] = key
        return self.request("POST", "/records/%s/append-batch" % obj, {"records": records}, h, **kw)

    def upsert(self, obj, records, match_key, key=None, headers=None, **kw):
        h = dict(headers or {})
        if key is not None:
            h["Idempotency-Key"] = key
        body = {"records": records, "matchKey": match_key}
        return self.request("POST", "/records/%s/upsert-batch" % obj, body, h, **kw)

    def job(self, obj, job_id):
        r = self.request("GET", "/records/%s/jobs/%s" % (obj, job_id))
        expect(r.status == 200, "GET job: %r" % r)
        return r.json()["data"]

    def wait_job(self, obj, job_id, timeout=30.0):
        """Polls a job with growing sleeps (0.2 s, x1.5, at most 2 s) until it is terminal."""
        deadline = time.monotonic() + timeout
        delay = 0.2
        while True:
            job = self.job(obj, job_id)
            if job["state"] in ("completed", "failed"):
                return job
            if time.monotonic() > deadline:
                raise AssertionError("job %s still %s after %.0f s" % (job_id, job["state"], timeout))
            time.sleep(delay)
            delay = min(delay * 1.5, 2.0)

    def all_errors(self, obj, job_id, limit):
        errors, cursor, pages = [], None, 0
        while True:
            query = {"limit": str(limit)}
            if cursor is not None:
                query["cursor"] = cursor
            r = self.request("GET", "/records/%s/jobs/%s/errors?%s" % (obj, job_id, urllib.parse.urlencode(query)))
            expect(r.status == 200, "GET errors: %r" % r)
            page = r.json()["data"]
            expect(len(page["errors"]) <= limit, "a page holds more than limit=%d errors" % limit)
            errors += page["errors"]
            pages += 1
            cursor = page.get("nextCursor")
            if cursor is None:
                return errors, pages
            expect(pages < 1000, "errors paging does not end")

    def records(self, obj, **filters):
        rows, cursor = [], None
        while True:
            query = dict(filters, limit="1000")
            if cursor is not None:
                query["cursor"] = cursor
            r = self.request("GET", "/records/%s?%s" % (obj, urllib.parse.urlencode(query)))
            expect(r.status == 200, "GET records: %r" % r)
            page = r.json()["data"]
            rows += page["records"]
            cursor = page.get("nextCursor")
            if cursor is None:
                return rows


class RecordBuffer:
    """A naive buffer: flushes when it holds `max_records` records or its oldest is `max_age` seconds old."""

    def __init__(self, flush, max_records, max_age):
        self.flush_fn = flush
        self.max_records = max_records
        self.max_age = max_age
        self.records = []
        self.lock = threading.Lock()
        self.timer = None
        self.failure = None

    def add(self, record):
        with self.lock:
            self.records.append(record)
            if len(self.records) >= self.max_records:
                self._flush("size")
            elif self.timer is None:
                self.timer = threading.Timer(self.max_age, self._on_age)
                self.timer.daemon = True
                self.timer.start()

    def _on_age(self):
        with self.lock:
            self.timer = None
            if self.records:
                try:
                    self._flush("age")
                except Exception as e:  # noqa: BLE001 - reported by close()
                    self.failure = e

    def _flush(self, reason):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        batch, self.records = self.records, []
        self.flush_fn(batch, reason)

    def close(self):
        with self.lock:
            if self.records:
                self._flush("close")
            elif self.timer is not None:
                self.timer.cancel()
                self.timer = None
        if self.failure is not None:
            raise self.failure


# --------------------------------------------------------------------------------------------- checks


class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def expect_error(r, status, code):
    expect(r.status == status, "expected %d %s, got %r" % (status, code, r))
    body = r.json()
    expect(body.get("success") is False, "error envelope needs success=false: %r" % body)
    err = body.get("error") or {}
    expect(err.get("code") == code, "expected code %s, got %r" % (code, err))
    expect(isinstance(err.get("message"), str) and err["message"], "error envelope needs a message: %r" % err)
    expect(
        (r.header("Content-Type") or "").startswith("application/json"),
        "error content type: %r" % r.header("Content-Type"),
    )
    return err


def accepted(r, obj, operation, count):
    expect(r.status == 202, "expected 202, got %r" % r)
    data = r.json()["data"]
    expect(data["operation"] == operation and data["objectName"] == obj, "202 data: %r" % data)
    expect(data["state"] == "queued" and data["acceptedRecords"] == count, "202 data: %r" % data)
    expect(data["jobId"].startswith("rjob_"), "job id: %r" % data["jobId"])
    expect(data["statusPath"] == "/records/%s/jobs/%s" % (obj, data["jobId"]), "statusPath: %r" % data)
    expect(r.header("Location") == "/public/v1" + data["statusPath"], "Location: %r" % r.header("Location"))
    return data


CHECKS = []


def check(name, needs=None):
    def register(fn):
        CHECKS.append((name, needs, fn))
        return fn

    return register


RUN = uuid.uuid4().hex[:8]  # keeps keys and emails of this run apart from any earlier run on the same server


def event(i, **extra):
    record = {
        "session_id": "s-%s-%d" % (RUN, i),
        "event": "page_view",
        "url": "https://shop.example/p/%d" % i,
        "occurred_at": NOW,
        "user_id": "u-%d" % i,
        "properties": {"referrer": "newsletter", "items": [i, i + 1]},
    }
    record.update(extra)
    return record


@check("append-example")
def append_example(c, opts):
    records = [
        event(1),
        event(2, occurred_at="2026-04-21T17:00:00+02:00"),
        {"event": "checkout", "occurred_at": "2026-04-21T15:00:00", "session_id": "s-%s-3" % RUN},
    ]
    data = accepted(c.append("events", records), "events", "append-batch", 3)
    job = c.wait_job("events", data["jobId"])
    expect(job["state"] == "completed", "job: %r" % job)
    expect(isinstance(job["sequence"], int), "sequence: %r" % job.get("sequence"))
    for field in ("createdAt", "startedAt", "completedAt"):
        expect(isinstance(job.get(field), str), "job.%s: %r" % (field, job.get(field)))
    m = job["metrics"]
    expect(m["totalRows"] == 3 and m["processedRows"] == 3, "metrics: %r" % m)
    expect(m["insertedRows"] == 2 and m["invalidRows"] == 1 and m["updatedRows"] == 0, "metrics: %r" % m)
    expect(len(job["errors"]) == 1, "errors: %r" % job["errors"])
    e = job["errors"][0]
    expect(e["index"] == 2 and e["code"] == "CDP_ETL.VALIDATION.REQUEST_INVALID", "row error: %r" % e)
    expect(e["field"] == "occurred_at" and e["pointer"] == "/records/2/occurred_at", "row error: %r" % e)
    expect(job["errorsPath"] == "/records/events/jobs/%s/errors" % data["jobId"], "errorsPath: %r" % job)
    stored = c.records("events")
    mine = [row for row in stored if str(row.get("session_id", "")).startswith("s-%s-" % RUN)]
    expect(sorted(row["session_id"] for row in mine) == ["s-%s-1" % RUN, "s-%s-2" % RUN], "stored: %r" % mine)
    for row in mine:
        expect("_id" in row and "_createdAt" in row and "_updatedAt" in row, "row meta fields: %r" % row)
        expect(row["properties"]["referrer"] == "newsletter", "json field kept: %r" % row)


@check("job-errors-paging")
def job_errors_paging(c, opts):
    bad = {
        1: {"event": "x", "occurred_at": "2026-02-30T10:00:00Z"},
        2: {"event": 12, "occurred_at": NOW},
        4: {"occurred_at": NOW},
        5: {"event": "x", "occurred_at": NOW, "session_id": 7},
        6: {"event": None, "occurred_at": "yesterday"},
    }
    records = [bad.get(i, event(100 + i)) for i in range(7)]
    data = accepted(c.append("events", records), "events", "append-batch", 7)
    job = c.wait_job("events", data["jobId"])
    expect(job["metrics"]["invalidRows"] == 5 and job["metrics"]["insertedRows"] == 2, "metrics: %r" % job["metrics"])
    errors, pages = c.all_errors("events", data["jobId"], limit=2)
    expect(pages >= 3, "5+ errors at limit=2 need 3+ pages, got %d" % pages)
    expect(len(errors) == len(job["errors"]), "paged %d errors, the job lists %d" % (len(errors), len(job["errors"])))
    expect({e["index"] for e in errors} == set(bad), "indexes: %r" % [e["index"] for e in errors])
    for e in errors:
        expect(e["record"] == records[e["index"]], "error %r carries the rejected record" % e)
        expect(e["pointer"].startswith("/records/%d" % e["index"]), "pointer: %r" % e)
        expect(e["code"] == "CDP_ETL.VALIDATION.REQUEST_INVALID", "code: %r" % e)
        expect("field" in e, "field: %r" % e)
    r = c.request("GET", "/records/events/jobs/%s/errors?cursor=not-a-cursor" % data["jobId"])
    expect_error(r, 400, "CDP_ETL.VALIDATION.REQUEST_INVALID")


def profile_row(c, email):
    rows = c.records("profiles", email=email)
    expect(len(rows) <= 1, "email is a match key, yet %d rows hold %s" % (len(rows), email))
    return rows[0] if rows else None


def expect_fields(row, expected):
    expect(row is not None, "no stored row for %r" % expected)
    for field, value in expected.items():
        expect(row.get(field) == value, "%s: expected %r, stored %r (row %r)" % (field, value, row.get(field), row))


@check("upsert-example")
def upsert_example(c, opts):
    ada = "ada.%s@example.com" % RUN
    grace = "grace.%s@example.com" % RUN
    first = [{"email": ada.replace("ada", "Ada"), "first_name": "Ada", "last_name": "Lovelace", "tier": "free"}]
    second = [
        {"email": ada, "tier": "pro", "last_seen_at": "2026-04-21T15:00:00Z"},
        {"email": grace, "first_name": "Grace", "attributes": {"team": "navy"}},
    ]
    third = [{"email": ada, "last_name": None}, {"email": grace, "external_id": "ext-%s" % RUN}]
    jobs = []
    for batch in (first, second, third):
        jobs.append(accepted(c.upsert("profiles", batch, "email"), "profiles", "upsert-batch", len(batch)))
    done = [c.wait_job("profiles", j["jobId"]) for j in jobs]
    expect([j["state"] for j in done] == ["completed"] * 3, "states: %r" % [j["state"] for j in done])
    seqs = [j["sequence"] for j in done]
    expect(seqs == sorted(seqs) and len(set(seqs)) == 3, "sequences follow acceptance: %r" % seqs)
    m = [(j["metrics"]["insertedRows"], j["metrics"]["updatedRows"]) for j in done]
    expect(m == [(1, 0), (1, 1), (0, 2)], "inserted/updated per job: %r" % m)
    expect_fields(
        profile_row(c, ada),
        {"email": ada, "first_name": "Ada", "last_name": None, "tier": "pro", "last_seen_at": "2026-04-21T15:00:00Z"},
    )
    expect_fields(
        profile_row(c, grace),
        {"email": grace, "first_name": "Grace", "attributes": {"team": "navy"}, "external_id": "ext-%s" % RUN},
    )
    expect_fields(profile_row_by(c, "external_id", "ext-%s" % RUN), {"email": grace})
    r = c.upsert("profiles", [{"email": ada}], "first_name")
    expect_error(r, 400, "CDP_ETL.VALIDATION.REQUEST_INVALID")
    r = c.request("POST", "/records/profiles/upsert-batch", {"records": [{"email": ada}]})
    expect_error(r, 400, "CDP_ETL.VALIDATION.REQUEST_INVALID")


def profile_row_by(c, field, value):
    rows = c.records("profiles", **{field: value})
    expect(len(rows) == 1, "%s=%s: %d rows" % (field, value, len(rows)))
    return rows[0]


@check("records-filter-email-case")
def records_filter_email_case(c, opts):
    """Upserts match `Ada@Example.com` to the stored `ada@example.com`; a read filter should find it the same way."""
    email = "case.%s@example.com" % RUN
    data = accepted(c.upsert("profiles", [{"email": email, "tier": "x"}], "email"), "profiles", "upsert-batch", 1)
    c.wait_job("profiles", data["jobId"])
    mixed = email.replace("case", "Case").replace("example", "EXAMPLE")
    rows = c.records("profiles", email=mixed)
    expect(
        len(rows) == 1 and rows[0]["email"] == email,
        "GET /records/profiles?email=%s (an email field, stored lower-cased) should find the row of %s, got %r"
        % (mixed, email, rows),
    )


@check("idempotent-replay")
def idempotent_replay(c, opts):
    records = [event(200), event(201)]
    key = batch_key(records) + "-" + RUN
    first = c.append("events", records, key=key)
    data = accepted(first, "events", "append-batch", 2)
    expect(first.header("Idempotent-Replayed") is None, "a first request is no replay: %r" % first.headers)
    again = c.append("events", records, key=key)
    expect(again.status == first.status, "replay status %d vs %d" % (again.status, first.status))
    expect(again.body == first.body, "replay body differs:\n%r\n%r" % (first.body, again.body))
    replayed = again.header("Idempotent-Replayed")
    expect(replayed == "true", "Idempotent-Replayed: %r" % replayed)
    expect(again.header("Location") == first.header("Location"), "replay Location")
    quoted = c.append("events", records, key='"%s"' % key)
    expect(quoted.body == first.body, "an RFC 8941 quoted key is the same key: %r" % quoted)
    other = c.append("events", [event(202)], key=key)
    expect_error(other, 422, "CDP_ETL.IDEMPOTENCY.KEY_REUSED")
    job = c.wait_job("events", data["jobId"])
    after = accepted(c.append("events", [event(203)]), "events", "append-batch", 1)
    later = c.job("events", after["jobId"])
    expect(
        later["sequence"] == job["sequence"] + 1,
        "replays queued nothing: the next batch has sequence %d, expected %d"
        % (later["sequence"], job["sequence"] + 1),
    )
    rows = [r for r in c.records("events") if r.get("session_id") in ("s-%s-200" % RUN, "s-%s-201" % RUN)]
    expect(len(rows) == 2, "the replayed batch is stored once: %d rows" % len(rows))


@check("rate-limit-retry", needs="limited_token")
def rate_limit_retry(c, opts):
    limited = Client(c.base, opts["limited_token"])
    seen = None
    for _ in range(200):
        r = limited.request("GET", "/objects", retry_429=False)
        expect(r.header("RateLimit") and r.header("RateLimit-Policy"), "rate-limit headers missing on %r" % r)
        if r.status == 429:
            seen = r
            break
        expect(r.status == 200, "GET /objects: %r" % r)
    expect(seen is not None, "200 quick requests on a limited token never got 429")
    err = expect_error(seen, 429, "CDP_ETL.RATE_LIMITED")
    retry_after = seen.header("Retry-After")
    expect(re.fullmatch(r"\d+", retry_after or "") and int(retry_after) >= 1, "Retry-After: %r" % retry_after)
    limit, policy = seen.header("RateLimit"), seen.header("RateLimit-Policy")
    expect(re.search(r"r=\d+", limit) and re.search(r"t=\d+", limit), "RateLimit: %r" % limit)
    expect(re.search(r"q=\d+", policy), "RateLimit-Policy: %r" % policy)
    # the retry loop a user writes: sleep Retry-After and send again, until it goes through
    records = [event(300)]
    key = "rl-" + RUN
    throttled = 0
    for _ in range(20):
        r = limited.append("events", records, key=key, retry_429=False)
        if r.status != 429:
            break
        throttled += 1
        time.sleep(int(r.header("Retry-After")))
    expect(r.status == 202, "after %d x 429 the batch still failed: %r (%r)" % (throttled, r, err))
    c.wait_job("events", r.json()["data"]["jobId"])
    for method, path, authed, resp in limited.log:
        has_both = resp.header("RateLimit") and resp.header("RateLimit-Policy")
        expect(has_both, "%s %s lacks rate-limit headers" % (method, path))


@check("buffer-flush-upserts")
def buffer_flush_upserts(c, opts):
    emails = ["buf%d.%s@example.com" % (i, RUN) for i in range(6)]
    flushed = []  # (reason, jobId, records)

    def flush(batch, reason):
        r = c.upsert("profiles", batch, "email", key=batch_key(batch))
        data = accepted(r, "profiles", "upsert-batch", len(batch))
        flushed.append((reason, data["jobId"], batch))

    buffer = RecordBuffer(flush, max_records=10, max_age=0.5)
    updates = []
    for i in range(23):
        record = {"email": emails[(i * 5) % 6], "tier": "t%d" % i}
        if i % 3 == 0:
            record["first_name"] = "F%d" % i
        if i % 4 == 1:
            record["attributes"] = {"n": i}
        if i == 17:
            record["first_name"] = None
        updates.append(record)
        buffer.add(record)
    deadline = time.monotonic() + 5
    while len(flushed) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    buffer.close()
    expect([f[0] for f in flushed] == ["size", "size", "age"], "flush reasons: %r" % [f[0] for f in flushed])
    expect([len(f[2]) for f in flushed] == [10, 10, 3], "flush sizes: %r" % [len(f[2]) for f in flushed])
    jobs = [c.wait_job("profiles", job_id) for _, job_id, _ in flushed]
    expect(all(j["state"] == "completed" and j["metrics"]["invalidRows"] == 0 for j in jobs), "jobs: %r" % jobs)
    expected = {}
    for record in updates:
        expected.setdefault(record["email"], {}).update(record)
    for email, fields in expected.items():
        expect_fields(profile_row(c, email), fields)


@check("prefer-wait")
def prefer_wait(c, opts):
    records = [event(400), {"event": "bad", "occurred_at": "2026-04-21"}]
    r = c.append("events", records, headers={"Prefer": "wait=5"})
    expect(r.status == 200, "Prefer: wait=5 on a small batch: expected 200 with the finished job, got %r" % r)
    expect(r.header("Preference-Applied") == "wait=5", "Preference-Applied: %r" % r.header("Preference-Applied"))
    job = r.json()["data"]
    expect(job["state"] == "completed" and job["metrics"]["invalidRows"] == 1, "job: %r" % job)
    inline = job["errors"]
    expect(len(inline) == 1 and inline[0]["pointer"] == "/records/1/occurred_at", "inline errors: %r" % inline)
    same = c.job("events", job["jobId"])
    expect(same == job, "the 200 body is the job exactly as GET returns it:\n%r\n%r" % (job, same))
    g = c.request("GET", "/records/events/jobs/%s" % job["jobId"], headers={"Prefer": "wait=2"})
    expect(g.status == 200 and g.json()["data"]["state"] == "completed", "job GET with Prefer: %r" % g)


@check("unauthorized")
def unauthorized(c, opts):
    for tok in (None, "not-a-token-of-this-service"):
        r = c.request("POST", "/records/events/append-batch", {"records": [event(500)]}, token=tok)
        expect_error(r, 401, "CDP_ETL.AUTH.UNAUTHORIZED")
        www = r.header("WWW-Authenticate") or ""
        expect(www.startswith("Bearer"), "WWW-Authenticate: %r" % www)
    r = c.request("GET", "/records/events", token=None)
    expect_error(r, 401, "CDP_ETL.AUTH.UNAUTHORIZED")


@check("forbidden-scope", needs="read_only_token")
def forbidden_scope(c, opts):
    r = c.request("POST", "/records/events/append-batch", {"records": [event(510)]}, token=opts["read_only_token"])
    expect_error(r, 403, "CDP_ETL.AUTH.FORBIDDEN")
    r = c.request("GET", "/records/events?limit=1", token=opts["read_only_token"])
    expect(r.status == 200, "a read-only token reads: %r" % r)


@check("tenancy", needs="other_workspace_token")
def tenancy(c, opts):
    data = accepted(c.append("events", [event(520)]), "events", "append-batch", 1)
    c.wait_job("events", data["jobId"])
    other = opts["other_workspace_token"]
    foreign = c.request("GET", "/records/events/jobs/%s" % data["jobId"], token=other)
    missing = c.request("GET", "/records/events/jobs/rjob_01JD0000000000000000000000", token=other)
    expect(foreign.status == 404 and missing.status == 404, "foreign %r / missing %r" % (foreign, missing))
    expect(
        foreign.json()["error"]["code"] == missing.json()["error"]["code"], "a foreign job looks like a missing one"
    )
    rows = c.request("GET", "/records/events?limit=1000", token=other)
    if rows.status == 200:
        leaked = [r for r in rows.json()["data"]["records"] if str(r.get("session_id", "")).startswith("s-%s" % RUN)]
        expect(not leaked, "another workspace sees this workspace's rows: %r" % leaked[:2])


@check("unknown-object")
def unknown_object(c, opts):
    expect_error(c.append("no_such_object", [{"a": 1}]), 404, "CDP_ETL.NOT_FOUND.OBJECT")
    expect_error(c.request("GET", "/records/no_such_object"), 404, "CDP_ETL.NOT_FOUND.OBJECT")


@check("unsupported-media-type")
def unsupported_media_type(c, opts):
    body = json.dumps({"records": [event(600)]}).encode()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {} if content_type is None else {"Content-Type": content_type}
        r = c.request("POST", "/records/events/append-batch", raw=body, headers=headers)
        expect_error(r, 415, "CDP_ETL.REQUEST.UNSUPPORTED_MEDIA_TYPE")


@check("too-many-records")
def too_many_records(c, opts):
    records = [{"event": "e", "occurred_at": NOW}] * (MAX_RECORDS + 1)
    err = expect_error(c.append("events", records), 400, "CDP_ETL.VALIDATION.REQUEST_INVALID")
    expect("too many" in err["message"].lower(), "message: %r" % err["message"])
    expect((err.get("details") or {}).get("limit") == MAX_RECORDS, "details.limit: %r" % err.get("details"))
    expect_error(c.append("events", []), 400, "CDP_ETL.VALIDATION.REQUEST_INVALID")
    no_records = c.request("POST", "/records/events/append-batch", {"rows": []})
    expect_error(no_records, 400, "CDP_ETL.VALIDATION.REQUEST_INVALID")
    # A record that is not an object is that row's error; the other records are applied.
    mixed = accepted(c.append("events", [event(700), 5]), "events", "append-batch", 2)
    job = c.wait_job("events", mixed["jobId"])
    expect(job["metrics"]["insertedRows"] == 1 and job["metrics"]["invalidRows"] == 1, "job: %r" % job)
    expect(job["errors"][0]["pointer"] == "/records/1", "row error: %r" % job["errors"])


@check("unknown-field")
def unknown_field(c, opts):
    records = [event(800), event(801, colour="red"), event(802, size=3, colour="blue")]
    err = expect_error(c.append("events", records), 400, "CDP_ETL.VALIDATION.REQUEST_SCHEMA")
    details = err.get("details")
    found = {}

    def walk(value):
        if isinstance(value, dict):
            if isinstance(value.get("field"), str):
                index = next((v for k, v in value.items() if "index" in k.lower() and isinstance(v, int)), None)
                found[value["field"]] = index
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(details)
    expect(found == {"colour": 1, "size": 2}, "details should list colour (first at 1) and size (at 2): %r" % details)


@check("payload-too-large")
def payload_too_large(c, opts):
    record = {"event": "x" * 1000, "occurred_at": NOW}
    body = json.dumps({"records": [record] * 10_600}).encode()
    expect(len(body) > 11_000_000, "the body is %d bytes" % len(body))
    r = c.request("POST", "/records/events/append-batch", raw=body, headers={"Content-Type": "application/json"})
    err = expect_error(r, 413, "CDP_ETL.REQUEST.PAYLOAD_TOO_LARGE")
    details = err.get("details") or {}
    expect(details.get("limit") == MAX_BODY_BYTES, "details.limit: %r" % details)
    expect(details.get("size") == len(body), "details.size should be the %d bytes sent: %r" % (len(body), details))
    ok = c.append("events", [event(900)])
    expect(ok.status == 202, "the service still accepts after a 413: %r" % ok)


@check("ratelimit-headers")
def ratelimit_headers(c, opts):
    """Runs last: every answer to an authenticated /public/v1 request of this walk carried both headers."""
    missing = [
        "%s %s -> %d" % (m, p, r.status)
        for m, p, authed, r in c.log
        if authed and r.status != 401 and not (r.header("RateLimit") and r.header("RateLimit-Policy"))
    ]
    expect(len(c.log) > 30, "the walk made only %d requests" % len(c.log))
    expect(not missing, "responses without RateLimit/RateLimit-Policy: %r" % missing[:5])


# --------------------------------------------------------------------------------------------- main


def parse_args(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        sys.exit(2)
    base = argv[1].rstrip("/")
    if not base.endswith("/public/v1"):
        base += "/public/v1"
    opts = {}
    rest = argv[3:]
    while rest:
        flag = rest.pop(0)
        if not flag.startswith("--") or not rest:
            sys.stderr.write("bad argument %r\n" % flag)
            sys.exit(2)
        opts[flag[2:].replace("-", "_")] = rest.pop(0)
    return base, argv[2], opts


def main(argv):
    base, token, opts = parse_args(argv)
    client = Client(base, token)
    passed = failed = skipped = 0
    for name, needs, fn in CHECKS:
        if needs is not None and not opts.get(needs):
            print("skip %s: needs --%s" % (name, needs.replace("_", "-")), flush=True)
            skipped += 1
            continue
        started = time.monotonic()
        try:
            fn(client, opts)
            print("ok %s (%.2fs)" % (name, time.monotonic() - started), flush=True)
            passed += 1
        except CheckFailed as e:
            print("FAIL %s: %s" % (name, str(e).replace("\n", " | ")), flush=True)
            failed += 1
        except Exception as e:  # noqa: BLE001 - a broken check is a failed check
            detail = traceback.format_exc().strip().splitlines()[-1]
            print("FAIL %s: %s: %s" % (name, type(e).__name__, detail), flush=True)
            failed += 1
    print(
        "summary: passed=%d failed=%d skipped=%d transport=%s requests=%d throttled=%d"
        % (passed, failed, skipped, TRANSPORT.name, len(client.log), client.throttled),
        flush=True,
    )
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
