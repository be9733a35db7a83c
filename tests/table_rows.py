"""Reading tables back as DataFrames, for checks independent of the code under test."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import text

from metricx.db import get_engine


def read(sql: str, **params) -> pd.DataFrame:
    with get_engine().connect() as conn:
        return pd.read_sql(text(sql), conn, params=params)


def execute(sql: str, **params) -> None:
    with get_engine().begin() as conn:
        conn.execute(text(sql), params)
