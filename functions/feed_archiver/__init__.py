"""feed-archiver: fetch → parse → tag → archive → aggregates."""
