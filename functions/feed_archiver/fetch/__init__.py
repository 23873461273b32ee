"""Fetch: every request to a third-party site (feeds, article pages, the web archive).

One address guard (`addresses`), one HTTP exchange with a deadline and a body cap
(`exchange`, `bounded_decoder`), one feed fetch with validators and retries (`feed`).
May import: errors, settings. Must never import: storage, run, history, the dashboard.
"""

from feed_archiver.fetch.feed import FetchResult, Validators, fetch_feed

__all__ = ["FetchResult", "Validators", "fetch_feed"]
