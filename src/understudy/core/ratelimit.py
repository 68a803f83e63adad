"""Request rate limits on the `limits` library: in memory by default, in Redis when configured.

With several workers, set UNDERSTUDY_REDIS_URL so the counters are shared; in memory each
worker counts on its own.
"""

from __future__ import annotations

from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter


class RateLimiter:
    """Checks and counts hits against named limits (e.g. "100/second") per key."""

    def __init__(self, redis_url: str | None = None, *, prefix: str = "understudy") -> None:
        uri = redis_url if redis_url else "memory://"
        options: dict[str, float | str | bool] = {}
        if redis_url:
            options["key_prefix"] = prefix
        self.storage: Storage = storage_from_string(uri, **options)
        self._limiter = SlidingWindowCounterRateLimiter(self.storage)
        self._items: dict[str, RateLimitItem] = {}

    @property
    def shared(self) -> bool:
        """True when counters live in Redis and so are shared by every worker."""
        return "memory" not in (self.storage.STORAGE_SCHEME or [])

    def _item(self, limit: str) -> RateLimitItem:
        item = self._items.get(limit)
        if item is None:
            item = self._items[limit] = parse(limit)
        return item

    def hit(self, limit: str, *identifiers: str) -> bool:
        """Count one hit; False when the limit for these identifiers is already exhausted."""
        return self._limiter.hit(self._item(limit), *identifiers)

    def test(self, limit: str, *identifiers: str) -> bool:
        """Whether one more hit would be allowed, without counting it."""
        return self._limiter.test(self._item(limit), *identifiers)

    def clear(self, limit: str, *identifiers: str) -> None:
        """Forget the counter of these identifiers."""
        self._limiter.clear(self._item(limit), *identifiers)

    def reset(self) -> None:
        """Forget every counter (sandbox reset)."""
        self.storage.reset()

    def check(self) -> bool:
        """Whether the storage answers."""
        return self.storage.check()
