"""History: archive saved copies of a feed (files, web-archive captures, raw/ snapshots),
and tag archived items again. Nothing here is on the Lambda's path."""
