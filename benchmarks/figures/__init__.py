"""One module per figure of issue 6; each returns report rows."""
