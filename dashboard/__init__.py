"""The Streamlit dashboard: read-only views of the current published snapshot.

Pages live in ``dashboard/views/`` (one file per page, declared in ``streamlit_app.py``); every SQL they
need is in ``dashboard/queries.py`` so a schema change touches one file; ``metrics/privacy.py`` masks
personal data before anything is shown. Nothing here opens the working database.
"""
