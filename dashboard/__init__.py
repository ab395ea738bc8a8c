"""The Streamlit dashboard: read-only views of the current published snapshot.

Pages live in ``dashboard/views/`` (one file per page, declared in ``streamlit_app.py``); every SQL they
need is in ``dashboard/queries/`` (one module per page over one shared module, the one scope filter and cache
there) so a schema change touches the query layer only; ``metrics/privacy.py`` masks
personal data before anything is shown. Nothing here opens the working database.
"""
