"""One file per dashboard page, each declared with ``st.Page`` in ``streamlit_app.py``."""
