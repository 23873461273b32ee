"""The Streamlit dashboard over the archive, and the one-command local demo."""
