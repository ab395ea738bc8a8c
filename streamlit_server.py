"""What ``sgs serve`` runs: the dashboard (``streamlit_app.py``) as a Streamlit ``st.App`` wrapped by
``dashboard.server``'s guard — download links that die with their session, no ``/_stcore/metrics``.

``streamlit run streamlit_server.py`` finds ``app`` below and serves it; running ``streamlit_app.py``
directly still works (tests, development) but without the guard, so deployments use this file.
"""
import streamlit as st

from dashboard import server

app = st.App("streamlit_app.py", middleware=server.middleware(), lifespan=server.lifespan)
