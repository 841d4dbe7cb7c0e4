from gateway.ratelimit import TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_allowed_then_requests_are_refused_with_retry_after() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=2, burst=3, clock=clock)
    decisions = [buckets.take("k") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert decisions[2].remaining == 0
    refused = decisions[3]
    assert refused.headers()["Retry-After"] == "1"
    assert refused.headers()["RateLimit-Limit"] == "3"


def test_tokens_refill_at_the_rate_and_never_beyond_the_burst() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=2, burst=3, clock=clock)
    for _ in range(3):
        buckets.take("k")
    clock.now += 0.5  # one token back
    assert buckets.take("k").allowed
    assert not buckets.take("k").allowed
    clock.now += 3600
    assert buckets.take("k").remaining == 2  # full (3) minus this one


def test_each_key_has_its_own_bucket() -> None:
    buckets = TokenBuckets(rate=1, burst=1, clock=Clock())
    assert buckets.take("a").allowed
    assert not buckets.take("a").allowed
    assert buckets.take("b").allowed


def test_memory_is_bounded_by_evicting_the_least_recently_used() -> None:
    buckets = TokenBuckets(rate=1, burst=1, max_keys=2, clock=Clock())
    buckets.take("a")
    buckets.take("b")
    buckets.take("c")  # evicts a
    assert buckets.take("a").allowed  # a starts over with a full bucket
