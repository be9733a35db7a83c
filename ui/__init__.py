"""Streamlit glue shared by app.py and the pages: session, navigation, formatting."""
