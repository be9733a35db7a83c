"""Settings (admin): workspace zone and currency, FX rates, cost rules, users."""

from datetime import date

import pandas as pd
import streamlit as st

from metricx.errors import MetricxError
from metricx.models import ROLES
from metricx.services import settings, users
from metricx.services.workspaces import find_workspace
from ui.session import current_actor

actor = current_actor()
actor.require_admin("change settings")
workspace = find_workspace(actor.workspace_id)
st.title("Settings")


def attempt(action, success: str) -> None:
    """Run a change; say what happened, or why it could not (nothing is half-saved)."""
    try:
        action()
    except MetricxError as error:
        st.error(str(error))
    else:
        st.success(success)


st.subheader("Workspace")
with st.form("workspace"):
    timezone = st.text_input("Time zone (IANA)", workspace.timezone, key="ws_timezone",
                             help="Days in every report are this zone's days.")
    currency = st.text_input("Reporting currency", workspace.currency, key="ws_currency")
    utm_match = st.selectbox("Match UTMs to campaigns by", settings.UTM_MATCHES,
                             settings.UTM_MATCHES.index(workspace.utm_match), key="ws_utm")
    if st.form_submit_button("Save workspace", key="ws_save"):
        attempt(lambda: settings.update_workspace(actor, timezone=timezone, currency=currency,
                                                  utm_match=utm_match), "Saved.")

st.subheader("FX rates")
st.caption(f"Money in other currencies is converted into {workspace.currency} at the rate of "
           "its day; a missing day is reported, never guessed.")
with st.form("fx", clear_on_submit=True):
    left, middle, right = st.columns(3)
    day = left.date_input("Day", date.today(), key="fx_day")
    source = middle.text_input("From currency", "EUR", key="fx_from")
    rate = right.text_input(f"Rate into {workspace.currency}", key="fx_rate")
    if st.form_submit_button("Save rate", key="fx_save"):
        attempt(lambda: settings.set_fx_rate(actor, day, source, rate), "Rate saved.")
rates = settings.fx_rates(actor.workspace_id)
if rates:
    st.dataframe(pd.DataFrame([{"Day": r.day, "From": r.from_currency, "To": r.to_currency,
                                "Rate": float(r.rate)} for r in rates]), hide_index=True)
else:
    st.caption("No rates yet: needed only if an ad account or shop uses another currency.")

st.subheader("Costs")
current = settings.costs(actor.workspace_id)
with st.form("costs"):
    left, right = st.columns(2)
    values = {
        "shipping_cost_per_order": left.text_input("Shipping cost per order",
                                                   str(current.shipping_cost_per_order)),
        "shipping_cost_pct": right.text_input("Shipping cost, share of revenue (0–1)",
                                              str(current.shipping_cost_pct)),
        "payment_fee_pct": left.text_input("Payment fee, share of the total (0–1)",
                                           str(current.payment_fee_pct)),
        "payment_fee_fixed": right.text_input("Payment fee per order",
                                              str(current.payment_fee_fixed)),
        "handling_per_order": left.text_input("Handling per order",
                                              str(current.handling_per_order)),
    }
    if st.form_submit_button("Save costs", key="costs_save"):
        attempt(lambda: settings.update_costs(actor, **values), "Costs saved.")

st.subheader("Users")
st.dataframe(pd.DataFrame([{"Email": u.email, "Name": u.name, "Role": u.role,
                            "Last login": u.last_login_at} for u in
                           users.list_users(actor.workspace_id)]), hide_index=True)
with st.form("invite", clear_on_submit=True):
    left, middle, right = st.columns(3)
    email = left.text_input("Email", key="invite_email")
    role = middle.selectbox("Role", ROLES, index=1, key="invite_role")
    password = right.text_input("First password", type="password", key="invite_password",
                                help="Give it to them privately; they change it under Account.")
    if st.form_submit_button("Add user", key="invite_save"):
        attempt(lambda: users.add_user(actor.workspace_id, email, password, role=role,
                                       actor=actor), f"Added {email}.")
with st.expander("Remove a user or reset a password"):
    others = [u.email for u in users.list_users(actor.workspace_id) if u.email != actor.label]
    if not others:
        st.caption("You are the only user.")
    else:
        chosen = st.selectbox("User", others, key="manage_user")
        new_password = st.text_input("New password", type="password", key="reset_password")
        left, right = st.columns(2)
        if left.button("Reset password", key="reset_save"):
            attempt(lambda: users.set_password(chosen, new_password, actor), "Password reset.")
        if right.button("Remove user", key="remove_user"):
            attempt(lambda: users.remove_user(actor, chosen), f"Removed {chosen}.")
