"""Streamlit caching around dashboard.data: reads are shared by every visitor for TTL_SECONDS.

Errors are not cached (Streamlit never caches an exception), so a fixed
configuration shows data on the next rerun.
"""

from __future__ import annotations

import streamlit as st

from dashboard import data
from dashboard.data import Archive, Filters, StoreConfig, View
from feed_archiver.storage import Store

TTL_SECONDS = 300


@st.cache_resource(show_spinner=False)
def store(config: StoreConfig) -> Store:
    """One Store (and its boto3 clients) per configuration: building clients costs ~0.1 s."""
    return data.make_store(config)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def archive(config: StoreConfig) -> Archive:
    """Counter cells, feed states and the 30-day count."""
    return data.load_archive(store(config))


@st.cache_data(ttl=TTL_SECONDS, show_spinner="Reading the archive…")
def view(config: StoreConfig, filters: Filters) -> View:
    """Counts and the newest items for one set of filters."""
    return data.load_view(store(config), archive(config), filters)


@st.cache_data(ttl=TTL_SECONDS, show_spinner="Reading the captured article…")
def capture_text(config: StoreConfig, text_key: str) -> str:
    """One captured article's text (a capture's files never change once written)."""
    return data.load_capture_text(store(config), text_key)


def clear() -> None:
    """Forget every cached read and client (the refresh button)."""
    st.cache_data.clear()
    st.cache_resource.clear()
