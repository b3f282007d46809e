"""Writes the fixed idempotency-key vectors of Keys.test.ts.

Each batch-NN.json is a JSON text written by hand (numbers in the exact forms under test); each queue-NN.json a
JSON array of message ids. expected.json maps each file to the key the Python recipes of SPEC section 5 give for it,
and to the text hashed (for the large batch-19, the key only). Run from this folder with python3 (3.11): python3 generate.py
"""
import hashlib
import json
import uuid

BATCHES = [
    # 01 plain records as a queue consumer would send them
    r'''[{"event": "page_view", "url": "https://example.com/a/b?x=1&y=2", "occurred_at": "2026-04-21T15:00:00Z",
  "user_id": "u-1", "session_id": "s-1", "properties": {"path": "/a/b", "ms": 12}},
 {"event": "click", "url": null, "occurred_at": "2026-04-21T15:00:01+02:00", "user_id": "u-2", "properties": {}}]''',
    # 02 BMP text, raw and escaped: Latin-1, Greek, CJK, Hangul, Arabic, Devanagari, combining marks, U+FFFD
    '[{"name": "Zoë Ångström", "greek": "Ωμέγα", "cjk": "中文 日本語 漢字", "hangul": "한국어", '
    '"arabic": "مرحبا", "hindi": "नमस्ते", "combining": "e\u0301", "replacement": "\ufffd", '
    r'"escaped": "\u00e9\u4e2d\uAC00\u0645", "mixed": "caf\u00E9 café"}]',
    # 03 astral planes: emoji, musical symbols, CJK extension B, plane 15/16 private use, raw and as escape pairs
    '[{"emoji": "😀🎉👩\u200d💻", "music": "𝄞", "cjk_ext_b": "𠀀𪜀", "plane15": "\U000F0000", '
    r'"max": "' '\U0010FFFF' r'", "pair": "\ud83d\ude00", "pair_upper": "\uD83D\uDE00", "flag": "🇫🇷"}]',
    # 04 key order by code point: astral keys sort after U+E000..U+FFFF (UTF-16 order would put them before)
    '[{"\ue000": 1, "\uffff": 2, "😀": 3, "𐀀": 4, "\ufffd": 5, "\ud7ff": 6, "a": 7, "A": 8, "": 9, "é": 10, '
    '"\u00ff": 11, "\uff21": 12, "aa": 13, "a😀": 14, "a\uffff": 15, "a\ue000": 16, "\U0010FFFF": 17, "~": 18}]',
    # 05 control characters (all escaped, as JSON requires), DEL and C1 controls raw and escaped, short escapes
    r'["\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f",'
    r' "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f",'
    r' "\u0008\u0009\u000A\u000c\u000D", "quote \" backslash \\ slash \/ /", "del \u007f raw ' '\x7f' r'",'
    ' "c1 \x80\x85\x9f", "separators \u2028\u2029", "nbsp \xa0"]',
    # 06 nesting: empty containers at every level, arrays of arrays, objects in arrays in objects
    r'''[[], {}, [[]], [{}], {"a": {}}, {"a": []}, [[[[[[[[[[1]]]]]]]]]],
 {"l1": {"l2": {"l3": {"l4": [{"l5": [[], {}, [null, true, false]]}]}}}}, [1, [2, [3, {"x": [4, {"y": 5}]}]]]]''',
    # 07 floats written positionally (Python repr keeps positional form for exponents -4..15)
    '[0.1, 0.2, 0.30000000000000004, 0.0001, 0.001, 123456789.123, 100000.0, 1.5, -2.5, 1E15, '
    '999999999999999.9, 9999999999999998.0, 0.5e-3, 3.141592653589793, 2.718281828459045, 1e3, 12.50]',
    # 08 floats in scientific form: tiny, huge, subnormal, max, overflow and underflow
    '[1e-05, 1e-07, 0.00001, 0.00009999999999999999, 1e16, 1.5e16, 1e22, 1e+21, 1E-5, 5e-324, 4.9e-324, '
    '2.2250738585072014e-308, 1.7976931348623157e308, 1e400, -1e400, 1e-400, -1e-400, 123e-20, '
    '9999999999999999.0, 1.2345678901234567e+89, -6.02214076e23, 1e100]',
    # 09 the written form decides int versus float
    '[2, 2.0, 2.00, 2e0, 20e-1, 2E+0, -0, -0.0, 0, 0.0, 0e0, -0E-0, 1, 1.0, 100, 1e2, 100.0]',
    # 10 integers beyond 2^53 stay exact
    '[9007199254740992, 9007199254740993, -9007199254740993, 9223372036854775807, 9223372036854775808, '
    '18446744073709551616, 123456789012345678901234567890, -123456789012345678901234567890, '
    '{"id": 1234567890123456789, "as_float": 1234567890123456789.0}]',
    # 11 the non-standard literals Python reads and writes
    '[NaN, Infinity, -Infinity, {"nan": NaN, "inf": Infinity, "ninf": -Infinity}, [NaN]]',
    # 12 duplicate keys: the last value wins (also for keys named like Object.prototype members)
    '[{"a": 1, "b": 2, "a": 3}, {"__proto__": 1, "constructor": 2, "toString": 3, "__proto__": {"x": 1}, '
    '"hasOwnProperty": null}, {"k": {"z": 1}, "k": {"y": 2}}]',
    # 13 lone surrogate escapes (Python keeps them), reversed pairs, and their key order
    r'["\ud800", "\udfff", "\ud83d", "a\ud800b", "\udc00\ud800", "\ud83d\u0041", "\ud83dx\ude00",'
    r' {"\ud800": 1, "\ue000": 2, "\uffff": 3, "\ud83d\ude00": 4, "\udbff": 5, "\udc00": 6, "\ud7ff": 7}]',
    # 14 insignificant whitespace of every kind, around every token, before and after the text
    ' \t\r\n[ {\t"a"\r:\n1 ,"b" : [ 1 ,\t2 ] } ,\r\n\t{ } , [ ]\n]\n\t \r\n',
    # 15 profiles as an upsert would send them
    r'''[{"email": "Ada@Example.com", "external_id": "ext-0001", "first_name": "Ada", "last_name": "Lovelace",
  "tier": "gold", "last_seen_at": "2026-04-21T15:00:00Z", "attributes": {"score": 98.5, "tags": ["a", "b"],
  "visits": 42, "ratio": 0.25, "nested": {"ok": true, "none": null}}},
 {"email": "jose@example.com", "first_name": "Jos\u00e9", "last_name": "Garc\u00eda", "tier": null,
  "attributes": {"score": 1e-7, "big": 12345678901234567890}}]''',
    # 16 an empty batch and a batch of empty records
    '[]',
    '[{}, {}, {}]',
    # 18 boundaries of Python's positional range and of safe integers
    '[0.0001, 0.00011, 9.999e-05, 999999999999999.0, 1000000000000000.0, 1e15, 1e16, 9007199254740991, '
    '9007199254740991.0, 9007199254740992.0, -9007199254740991, 4503599627370496.5, 0.1e1, 10e-1]',
]

QUEUES = [
    ["b", "a", "c"],
    ["msg-\u00e9", "msg-e", "😀", "\ue000", "\uffff", "\u4e2d", "𐀀", "a", "A", "", "\U0010FFFF"],
    [],
    ["only-one"],
    ["a:b", "a", "b:a", "a:"],
    ["a", "a", "b", "a"],
    [
        "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
        "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
        "6fa459ea-ee8a-3ca4-894e-db77e160355e",
        "886313e1-3b8a-5372-9b90-0c9aee199e5d",
    ],
    ["\x00", "\x7f", "\n", "tab\tid", "\u2028", "\xff", "\u0100"],
]


def large_batch() -> str:
    """A thousand generated records with varied values: the size of a real batch."""
    parts = []
    for i in range(1000):
        parts.append(
            '{"event": "e%d", "n": %d, "x": %s, "big": %d, "s": "\\u%04x%s", "tags": [%d, %d.5], "ok": %s}'
            % (i, i - 500, repr(i / 7 * 10 ** (i % 40 - 20)), 2**53 + i, (i * 131) % 0xD7FF + 1,
               chr(0x1F300 + i % 300), i, i, "true" if i % 3 else "null")
        )
    return "[" + ",\n".join(parts) + "]"


def batch_key(records) -> tuple[str, str]:
    canonical = json.dumps(records, sort_keys=True, ensure_ascii=True)
    key = str(uuid.UUID(hashlib.md5(canonical.encode()).hexdigest()))  # batch key
    return key, canonical


def queue_key(message_ids) -> tuple[str, str]:
    combined = ":".join(sorted(message_ids))
    key = str(uuid.UUID(hashlib.md5(combined.encode()).hexdigest()))  # queue key
    return key, combined


def main() -> None:
    expected = {}
    texts = BATCHES + [large_batch()]
    for n, text in enumerate(texts, start=1):
        name = "batch-%02d.json" % n
        with open(name, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        with open(name, encoding="utf-8", newline="") as f:
            key, canonical = batch_key(json.load(f))
        # the canonical text helps when a key differs; the large batch's is left out to keep this file small
        expected[name] = {"key": key, "canonical": canonical} if len(canonical) < 10_000 else {"key": key}
    for n, ids in enumerate(QUEUES, start=1):
        name = "queue-%02d.json" % n
        with open(name, "w", encoding="utf-8", newline="") as f:
            json.dump(ids, f, ensure_ascii=False)
        with open(name, encoding="utf-8", newline="") as f:
            key, combined = queue_key(json.load(f))
        expected[name] = {"key": key, "joined": combined}
    with open("expected.json", "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=True, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
