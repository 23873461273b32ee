"""Article capture (issue 12): fetch an item's page politely, keep it as WARC and main text."""
