"""Differential test of the pushdown our FerretDB patches add: with it and without it, the
answers are the same.

Two servers from the patched binary (infra/local.sh ferretdb-bin), each with its own SQLite
state, the second started with `--test-disable-pushdown` (v1.24.2 spells it so, among its test
flags; patches/0003 makes it hold for find, explain and aggregate). Both get the same seeded
random documents, whose indexed fields mix every type at once (strings, some starting with "[",
int32, int64, doubles equal to ints, booleans, dates, ObjectIds, null, missing fields, arrays,
embedded documents), then the same seeded random filters through find, count_documents,
update_many, a sorted find_one_and_update and delete_many. Without pushdown the handler filters
a full scan, FerretDB's own reference behaviour; a pushed-down condition may only narrow the
candidates, so any difference is a pushdown bug. STORE_DIFF_SEED tries another seed.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import bson
import pytest
from bson import Binary, Int64, ObjectId, Timestamp
from pymongo import ASCENDING, DESCENDING, MongoClient, ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import OperationFailure

from devstack.processes import free_port

Doc = dict[str, Any]
T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("STORE_DIFF_SEED", "20260315"))
DOCUMENTS = 2000
FILTERS = int(os.environ.get("STORE_DIFF_FILTERS", "1500"))

# --- the servers ---------------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def _patched_binary() -> str:
    """The patched FerretDB, built by infra/local.sh if it is not cached yet (1-2 minutes)."""
    done = subprocess.run(
        [str(ROOT / "infra" / "local.sh"), "ferretdb-bin"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        why = done.stderr.strip()[-2000:]
        if shutil.which("go") is None:
            pytest.skip(f"the patched FerretDB cannot be built here (no Go toolchain): {why}")
        pytest.fail(f"infra/local.sh ferretdb-bin failed ({done.returncode}): {why}")
    return lines[-1]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _start(binary: str, name: str, base: Path, extra: list[str]) -> Server:
    """Start one server on a free port with the arguments infra/local.sh start_ferretdb uses."""
    for _attempt in range(3):  # the free port may be taken before the server binds it
        state = base / name
        shutil.rmtree(state, ignore_errors=True)
        state.mkdir(parents=True)
        port = free_port()
        log = base / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    binary,
                    "--handler=sqlite",
                    f"--sqlite-url=file:{state}/?_pragma=synchronous(normal)&_txlock=immediate",
                    f"--state-dir={state}",
                    f"--listen-addr=127.0.0.1:{port}",
                    "--debug-addr=-",
                    "--telemetry=disable",
                    "--log-level=error",
                    *extra,
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = Server(name, port, proc, log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None and not _port_open(port):
            time.sleep(0.1)
        if proc.poll() is None and _port_open(port):
            return server
        server.stop()
    raise AssertionError(f"{name} did not start; last log lines:\n{log.read_text(errors='replace')[-2000:]}")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    """(with pushdown, without pushdown); both killed at the end."""
    binary = _patched_binary()
    base = tmp_path_factory.mktemp("ferretdb-diff")
    started: list[Server] = []
    try:
        started.append(_start(binary, "pushdown", base, []))
        started.append(_start(binary, "no-pushdown", base, ["--test-disable-pushdown"]))
        yield started[0], started[1]
    finally:
        for s in started:
            s.stop()


# --- the documents -------------------------------------------------------------------------------------

BASE = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
DATES = [
    BASE + timedelta(days=d, milliseconds=ms)
    for d, ms in [(-400, 0), (-30, 1), (-1, 999), (0, 0), (0, 1), (1, 500), (365, 0)]
] + [
    datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),  # before the epoch: negative milliseconds
    datetime(1970, 1, 1, 0, 0, 0, 5000, tzinfo=UTC),  # 5 ms: the same number as the int 5
]
OIDS = [ObjectId(f"65f4{i:020x}") for i in range(4)]
INT32 = [-2, 0, 1, 5, 7, 100]
INT64 = [Int64(v) for v in (-2, 0, 1, 5, 2**31, 2**53 + 1, -(2**62))]
DOUBLES = [0.0, -0.0, 1.0, 5.0, 5.5, -2.5, 99.99, 1e20, 2.0**53]
STRINGS = ["", "a", "b", "ab", "B", "5", "true", "t1", "{a}", "a\x00b", "é", str(OIDS[0])]
BRACKETED = ["[", "[x", "[1, 5]", "[]"]  # text that reads like an array: pushdown steps aside for it too
ARRAYS: list[list[Any]] = [
    [],
    [1, 5],
    [5.0, "a"],
    ["a", "b"],
    [True],
    [DATES[3], DATES[4]],
    [None],
    [OIDS[1]],
    ["[x"],
    [Int64(7), 100],
    [-2.5, DATES[0], "b"],
]
EMBEDDED: list[Doc] = [{"k": 1}, {"a": "b"}, {}, {"k": [1]}]
OTHERS: list[Any] = [Timestamp(5, 1), Binary(b"\x01\x02"), Binary(b"\x05", 128)]  # stored as numbers, base64
MISSING = object()  # the field is left out

SCALARS: list[Any] = [*INT32, *INT64, *DOUBLES, *STRINGS, True, False, *DATES, *OIDS, None, *EMBEDDED]
SCALARS += OTHERS
ANY: list[Any] = [*SCALARS, *BRACKETED, *ARRAYS, *ARRAYS]
TENANTS = ["t1", "t2", "t3"]
ARRAYS_UNDER = "t3"  # documents of this `t` may hold arrays at `b`: pushdown of b works for the others

# Single and compound indexes, one unique; `x` is not indexed (only the handler filters it).
INDEXES: list[tuple[list[tuple[str, int]], bool]] = [
    ([("a", ASCENDING)], False),
    ([("t", ASCENDING), ("b", ASCENDING)], False),
    ([("t", ASCENDING), ("c", ASCENDING), ("d", DESCENDING)], False),
    ([("u", ASCENDING)], True),
    ([("dt", ASCENDING)], False),
    ([("flag", ASCENDING), ("dt", DESCENDING)], False),
    ([("flag", ASCENDING)], False),
    ([("arr", ASCENDING)], False),
    ([("n", ASCENDING)], False),
]
FIELDS = ["_id", "a", "t", "b", "c", "d", "u", "dt", "flag", "arr", "n", "x"]


# The documents are spread over collections of about 100 (without pushdown FerretDB filters
# every document of the collection, at up to ~100 µs each on this hardware, so small ones let
# many more filters run). The fields that may hold arrays differ between them, so the array
# probe says yes in some and no in others.
COLLECTIONS = 19  # coprime with the 3 kinds of _id and the 8 kinds of `u`
PROFILES: list[frozenset[str]] = [
    frozenset(),  # only the conditional ones: b under t3, d where c == 5
    frozenset({"a", "dt"}),
    frozenset({"b", "d", "flag"}),
    frozenset(),
    frozenset({"c"}),
    frozenset({"t"}),  # the leading field of both compound indexes
    frozenset(),
]
ARRAYS_AT = [PROFILES[k % len(PROFILES)] for k in range(COLLECTIONS)]


def _pick(rng: random.Random, pool: list[Any]) -> Any:
    return rng.choice(pool)


def _value(rng: random.Random, field: str, arrays: frozenset[str], doc: Doc | None = None) -> Any:
    """A value for `field` as the documents hold it (MISSING: none); `arrays`: the fields where
    arrays and bracketed text may be, besides `arr`, `x` and the conditional `b` and `d`."""
    r = rng.random()
    if r < 0.06:
        return MISSING
    if field in arrays and r < 0.3:
        return _pick(rng, [*ARRAYS, *BRACKETED])
    if field in ("a", "c"):
        return _pick(rng, SCALARS)
    if field == "t":
        return _pick(rng, TENANTS) if r < 0.85 else _pick(rng, SCALARS)
    if field == "b":
        return _pick(rng, ANY) if doc is not None and doc.get("t") == ARRAYS_UNDER else _pick(rng, SCALARS)
    if field == "d":
        return _pick(rng, ANY) if doc is not None and doc.get("c") == 5 else _pick(rng, SCALARS)
    if field == "dt":
        return _pick(rng, DATES) if r < 0.75 else _pick(rng, SCALARS)
    if field == "flag":
        return rng.choice([True, False]) if r < 0.75 else _pick(rng, [0, 1, Int64(1), 0.0, 1.0, None, "true"])
    if field == "n":
        return _pick(rng, [*INT32, *INT64[:5], 0.5, 5.0, -2.5])
    return _pick(rng, ANY)  # arr, x


def _unique(i: int) -> Any:
    """Distinct values of mixed types for the unique index (none equal, even as SQL values)."""
    kind = i % 8
    if kind == 0:
        return f"u{i}"
    if kind == 1:
        return 1000 + i
    if kind == 2:
        return Int64(10**12 + i)
    if kind == 3:
        return i + 0.25
    if kind == 4:
        return BASE + timedelta(seconds=i)
    if kind == 5:
        return ObjectId(f"{i:024x}")
    if kind == 6:
        return {6: True, 14: False, 22: None, 30: None}.get(i, MISSING)  # several nulls: SQL NULLs
    return MISSING


def _doc_id(i: int) -> Any:
    kind = i % 3
    if kind == 0:
        return f"d{i:05d}"
    if kind == 1:
        return ObjectId(f"0d{i:022x}")
    return i


def _documents(rng: random.Random) -> list[list[Doc]]:
    """The documents of each collection."""
    colls: list[list[Doc]] = [[] for _ in range(COLLECTIONS)]
    for i in range(DOCUMENTS):
        k = i % COLLECTIONS
        doc: Doc = {"_id": _doc_id(i)}
        for field in FIELDS[1:]:
            v = _unique(i) if field == "u" else _value(rng, field, ARRAYS_AT[k], doc)
            if v is not MISSING:
                doc[field] = v
        colls[k].append(doc)
    return colls


# --- the filters ---------------------------------------------------------------------------------------

EVERYWHERE = frozenset(FIELDS)
RANGE_VALUES: list[Any] = [*INT32, *INT64, *DOUBLES, *DATES, "a", "[", "b", "", True, OIDS[2], None]


def _clause_value(rng: random.Random, field: str, ids: list[Any]) -> Any:
    """A filter value for one field: equality, operators, or both."""
    if field == "_id":
        r = rng.random()
        if r < 0.65:
            return rng.choice(ids)
        if r < 0.9:  # strings and ObjectIDs only are pushed down; an int among them is not
            return {"$in": [rng.choice(ids) for _ in range(rng.randint(1, 6))]}
        return rng.choice(["d99999", OIDS[0], 123456, {"$in": ["d99999", OIDS[3]]}])

    def some() -> Any:
        v = (
            _value(rng, field, EVERYWHERE, {"t": ARRAYS_UNDER, "c": 5})
            if rng.random() < 0.7
            else _pick(rng, ANY)
        )
        return None if v is MISSING else v

    kind = rng.random()
    if kind < 0.35:
        return some()
    if kind < 0.42:
        return {"$eq": some()}
    if kind < 0.62:
        return {rng.choice(["$gt", "$gte", "$lt", "$lte"]): rng.choice(RANGE_VALUES)}
    if kind < 0.75:
        low = rng.choice(RANGE_VALUES)
        high = rng.choice(RANGE_VALUES) if rng.random() < 0.3 else _same_type_above(rng, low)
        return {rng.choice(["$gt", "$gte"]): low, rng.choice(["$lt", "$lte"]): high}
    if kind < 0.83:
        return {"$in": [some() for _ in range(rng.randint(1, 3))]}
    if kind < 0.89:
        return {"$ne": some()}
    if kind < 0.94:
        return {"$exists": rng.random() < 0.5}
    # A pushable condition next to one only the handler applies.
    mixed: Doc = {rng.choice(["$gte", "$lt", "$eq"]): rng.choice(RANGE_VALUES)}
    other = rng.choice(list(HANDLER_ONLY))
    mixed[other] = HANDLER_ONLY[other](rng, some)
    return mixed


HANDLER_ONLY: dict[str, Callable[[random.Random, Callable[[], Any]], Any]] = {
    "$ne": lambda rng, some: some(),
    "$exists": lambda rng, some: True,
    "$nin": lambda rng, some: [some(), some()],
    "$not": lambda rng, some: {"$gt": rng.choice(RANGE_VALUES)},
    "$type": lambda rng, some: rng.choice(
        ["number", "array", "string", "date", "bool", "int", "long", "double"]
    ),
    "$size": lambda rng, some: rng.choice([0, 1, 2]),
    "$all": lambda rng, some: [some()],
    "$elemMatch": lambda rng, some: {"$gte": rng.choice(RANGE_VALUES)},
    "$regex": lambda rng, some: rng.choice(["^a", "^\\[", "b$"]),
    "$mod": lambda rng, some: [2, rng.choice([0, 1])],
}


def _same_type_above(rng: random.Random, low: Any) -> Any:
    if isinstance(low, datetime):
        return low + timedelta(days=rng.choice([0, 1, 30, 400]))
    if isinstance(low, bool) or low is None or isinstance(low, ObjectId):
        return low
    if isinstance(low, int | float):
        return type(low)(low + rng.choice([0, 1, 3, 100]))
    return str(low) + "z"


# Fields that share an index are often filtered together, so compound pushdown is exercised.
COMBOS = [["t", "b"], ["t", "c"], ["t", "c", "d"], ["flag", "dt"], ["_id", "t"], ["_id", "a", "n"]]


DOTTED = ["a.k", "arr.0", "x.k", "b.1"]  # never pushed down: the handler alone answers them


def _filter(rng: random.Random, ids: list[Any], nested: bool = True) -> Doc:
    if rng.random() < 0.5:
        fields = list(rng.choice(COMBOS))
    else:
        fields = rng.sample(FIELDS, rng.choice([1, 1, 2, 2, 3]))
    if rng.random() < 0.05:
        fields.append(rng.choice(DOTTED))
    if rng.random() < 0.3:
        rng.shuffle(fields)  # the order of a filter's keys is not the index's
    f: Doc = {}
    for field in fields:
        if field == "t" and rng.random() < 0.8:
            f[field] = rng.choice(TENANTS)  # a tenant, as every query has
        else:
            f[field] = _clause_value(rng, field, ids)
    if nested and rng.random() < 0.08:
        f[rng.choice(["$or", "$and", "$nor"])] = [_filter(rng, ids, nested=False) for _ in range(2)]
    return f


# --- comparing -----------------------------------------------------------------------------------------


def _raw(docs: list[Doc]) -> list[tuple[Any, bytes]]:
    """Each document with its exact BSON (types included: 5 and 5.0 differ here)."""
    return [(d["_id"], bson.encode(d)) for d in docs]


def _difference(a: list[Doc], b: list[Doc]) -> str:
    ra, rb = dict(_raw(a)), dict(_raw(b))
    only_a = [k for k in ra if k not in rb]
    only_b = [k for k in rb if k not in ra]
    changed = [k for k in ra if k in rb and ra[k] != rb[k]]
    order = "" if only_a or only_b or changed else " (same documents, other order)"
    by_id = {d["_id"]: d for d in [*b, *a]}
    shown = [by_id[k] for k in [*only_a, *only_b, *changed][:5]]  # to reproduce it by hand
    return (
        f"only with pushdown: {only_a!r}; only without: {only_b!r}; different content: {changed!r}{order};"
        f" documents: {shown!r}"
    )


def _find(coll: Collection[Doc], f: Doc) -> list[Doc]:
    return list(coll.find(f).sort("_id", ASCENDING))


def _update_many(coll: Collection[Doc], f: Doc, update: Doc) -> tuple[int, int]:
    res = coll.update_many(f, update)
    return res.matched_count, res.modified_count


def _find_one_and_update(coll: Collection[Doc], f: Doc) -> Doc | None:
    return coll.find_one_and_update(
        f, {"$inc": {"n": 10}}, sort=[("_id", DESCENDING)], return_document=ReturnDocument.AFTER
    )


def _pushed_down(coll: Collection[Doc], f: Doc) -> bool:
    return bool(coll.database.command("explain", {"find": coll.name, "filter": f}).get("filterPushdown"))


@dataclass(frozen=True)
class Refused:
    """The server refused the operation: both must, with the same code."""

    code: int | None


def _outcome(op: Callable[[Collection[Doc]], T], coll: Collection[Doc]) -> T | Refused:
    try:
        return op(coll)
    except OperationFailure as exc:
        return Refused(exc.code)


@dataclass
class Run:
    """The same operations on both servers, at once (each server works on its own)."""

    pool: ThreadPoolExecutor
    mismatches: list[str]
    diverged: bool = False

    def both(
        self, op: Callable[[Collection[Doc]], T], a: Collection[Doc], b: Collection[Doc]
    ) -> tuple[T | Refused, T | Refused]:
        fa, fb = self.pool.submit(_outcome, op, a), self.pool.submit(_outcome, op, b)
        return fa.result(), fb.result()

    def report(self, what: str, f: Doc, detail: str) -> None:
        message = f"seed {SEED}, collection {what}: filter {f!r}: {detail}"
        print(message)
        self.mismatches.append(message)

    def same(
        self, what: str, f: Doc, op: Callable[[Collection[Doc]], T], a: Collection[Doc], b: Collection[Doc]
    ) -> T | Refused:
        got_a, got_b = self.both(op, a, b)
        if got_a != got_b:
            self.report(what, f, f"with pushdown {got_a!r}, without {got_b!r}")
        return got_a

    def same_documents(self, what: str, f: Doc, a: Collection[Doc], b: Collection[Doc]) -> list[Doc] | None:
        """The documents `f` finds (None when both servers refuse it)."""
        docs_a, docs_b = self.both(lambda c: _find(c, f), a, b)
        if isinstance(docs_a, Refused) or isinstance(docs_b, Refused):
            if docs_a != docs_b:
                self.report(what, f, f"with pushdown {docs_a!r}, without {docs_b!r}")
            return None
        if _raw(docs_a) != _raw(docs_b):
            self.report(what, f, _difference(docs_a, docs_b))
        return docs_a

    def same_collections(self, after: str, f: Doc, a: Collection[Doc], b: Collection[Doc]) -> None:
        docs_a, docs_b = self.both(lambda c: _find(c, {}), a, b)
        assert not isinstance(docs_a, Refused), docs_a
        assert not isinstance(docs_b, Refused), docs_b
        if _raw(docs_a) != _raw(docs_b):
            self.report(f"{a.name}, all documents after {after}", f, _difference(docs_a, docs_b))
            self.diverged = True


def _write(
    rng: random.Random, run: Run, f: Doc, k: int, a: Collection[Doc], b: Collection[Doc], count: int
) -> bool:
    """Maybe one write with filter `f` on both; True when one was made."""
    r = rng.random()
    if r < 0.08:
        field = rng.choice(["a", "c", "dt", "flag", "arr", "x", "n"])
        value = _value(rng, field, ARRAYS_AT[k])
        update: Doc = {"$inc": {"n": 1}}
        if field == "n":
            update = {"$inc": {"n": rng.choice([1, -3, Int64(2), 0.5])}}
        elif value is MISSING:
            update["$unset"] = {field: ""}
        else:
            update["$set"] = {field: value}
        run.same(f"{a.name}, update_many {update!r}", f, lambda c: _update_many(c, f, update), a, b)
        run.same_collections(f"update_many {update!r}", f, a, b)
        return True
    if r < 0.12:
        run.same(
            f"{a.name}, find_one_and_update sorted by _id", f, lambda c: _find_one_and_update(c, f), a, b
        )
        run.same_collections("find_one_and_update", f, a, b)
        return True
    if r < 0.14 and count <= 15:
        run.same(f"{a.name}, delete_many", f, lambda c: c.delete_many(f).deleted_count, a, b)
        run.same_collections("delete_many", f, a, b)
        return True
    return False


@pytest.mark.timeout(900)  # includes building the binary when it is not cached
def test_pushdown_answers_exactly_what_the_full_scan_answers(servers: tuple[Server, Server]) -> None:
    with_pushdown, without = servers
    client_a: MongoClient[Doc] = MongoClient(with_pushdown.url, tz_aware=True)
    client_b: MongoClient[Doc] = MongoClient(without.url, tz_aware=True)
    try:
        with ThreadPoolExecutor(2) as pool:
            _compare(Run(pool, []), client_a, client_b)
    finally:
        client_a.close()
        client_b.close()


def _creating_index(keys: list[tuple[str, int]], unique: bool) -> Callable[[Collection[Doc]], str]:
    return lambda c: c.create_index(keys, unique=unique)


def _inserting(docs: list[Doc]) -> Callable[[Collection[Doc]], object]:
    return lambda c: c.insert_many([dict(d) for d in docs])


def _counting(f: Doc) -> Callable[[Collection[Doc]], int]:
    return lambda c: c.count_documents(f)


def _compare(run: Run, client_a: MongoClient[Doc], client_b: MongoClient[Doc]) -> None:
    rng = random.Random(SEED)
    colls = [(client_a["diff"][f"docs{k}"], client_b["diff"][f"docs{k}"]) for k in range(COLLECTIONS)]
    contents = _documents(rng)
    for (a, b), docs in zip(colls, contents, strict=True):
        for keys, unique in INDEXES:
            run.both(_creating_index(keys, unique), a, b)
        run.both(_inserting(docs), a, b)
        run.same_collections("the inserts", {}, a, b)
    ids = [[d["_id"] for d in docs] for docs in contents]

    pushed = pushed_by_index = found = writes = 0
    for i in range(FILTERS):
        if run.diverged:
            break
        k = rng.randrange(COLLECTIONS)
        a, b = colls[k]
        f = _filter(rng, ids[k])
        if _pushed_down(a, f):
            pushed += 1
            pushed_by_index += "_id" not in f  # by a secondary index, not the _id one
        if i % 25 == 0:
            assert not _pushed_down(b, f), f"--test-disable-pushdown did not hold for {f!r}"

        got = run.same_documents(f"{a.name}, find", f, a, b)
        if got is None:
            continue  # refused by both (an operator on a value it does not take)
        found += bool(got)
        if i % 3 == 0:
            run.same(f"{a.name}, count_documents", f, _counting(f), a, b)
        writes += _write(rng, run, f, k, a, b, len(got))

    if not run.diverged:
        for a, b in colls:
            run.same_collections("all filters", {}, a, b)
    assert not run.mismatches, f"{len(run.mismatches)} mismatches:\n" + "\n".join(run.mismatches[:30])
    # The comparison means something only if pushdown happened and filters found documents.
    assert pushed >= FILTERS // 5, f"only {pushed} of {FILTERS} filters were pushed down"
    assert pushed_by_index >= FILTERS // 10, f"only {pushed_by_index} pushed down on secondary indexes"
    assert found >= FILTERS // 5, f"only {found} of {FILTERS} filters found documents"
    assert writes >= FILTERS // 20, f"only {writes} writes"
    print(
        f"seed {SEED}: {pushed} of {FILTERS} filters pushed down ({pushed_by_index} on secondary indexes),"
        f" {found} found documents, {writes} writes"
    )
