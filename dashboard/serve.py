"""`python -m dashboard.serve run dashboard/app.py ...`: `streamlit run`, warmed up.

Streamlit imports a page's libraries when the first visitor's script run does,
so that visitor waits about a second more for pandas, pyarrow, Altair and botocore. The
demo starts Streamlit through this module, which imports them into the server
process first. No data is read or cached here.
"""

from __future__ import annotations


def main() -> None:
    """Import the dashboard's modules (not app.py: that would render), then hand over to Streamlit."""
    import logging

    import altair  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow  # noqa: F401 - Streamlit's dataframe serialisation
    from streamlit.web.cli import main as streamlit

    # Decorating with st.cache_data outside a running app warns "No runtime found": expected here.
    caching_log = logging.getLogger("streamlit.runtime.caching.cache_data_api")
    level = caching_log.level
    caching_log.setLevel(logging.ERROR)
    from dashboard import cache, charts, countries_section, data, frames, geo  # noqa: F401

    caching_log.setLevel(level)

    streamlit(prog_name="streamlit")


if __name__ == "__main__":
    main()
