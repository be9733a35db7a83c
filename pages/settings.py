"""Settings (admin): workspace zone and currency, FX rates, cost rules, expenses, users,
the pixel key."""

from datetime import date

import pandas as pd
import streamlit as st

from metricx.config import get_config
from metricx.errors import MetricxError
from metricx.models import ROLES, Expense
from metricx.pixel.snippet import collector_url, shopify_custom_pixel, snippet
from metricx.services import expenses, pixel_keys, settings, users
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

st.subheader("Expenses")
st.caption("Custom costs in the P&L (Finance page). Monthly amounts are spread over the days "
           "of their month; a share of revenue is a fraction (0.05 = 5 %) of net sales + "
           "shipping charged. Flag an expense as ad spend (an agency, an influencer) to count "
           "it there instead of under other expenses.")


def expense_fields(prefix: str, current: Expense | None) -> dict:
    """The inputs of one expense (inside a form); what they hold, as service arguments."""
    left, middle, right = st.columns(3)
    kind = current.kind if current else "monthly"
    return {
        "name": left.text_input("Name", current.name if current else "", key=f"{prefix}_name"),
        "kind": middle.selectbox("Kind", expenses.KINDS, expenses.KINDS.index(kind),
                                 format_func=expenses.KIND_LABELS.get, key=f"{prefix}_kind"),
        "currency": right.text_input("Currency", current.currency if current
                                     else workspace.currency, key=f"{prefix}_currency"),
        "amount": left.text_input("Amount (monthly, one-off)", "" if current is None or
                                  current.amount is None else str(current.amount),
                                  key=f"{prefix}_amount"),
        "percent": middle.text_input("Share of revenue (0–1)", "" if current is None or
                                     current.percent is None else str(current.percent),
                                     key=f"{prefix}_percent"),
        "counts_as_ad_spend": right.checkbox("Counts as ad spend", bool(
            current and current.counts_as_ad_spend), key=f"{prefix}_ad_spend"),
        "start_date": left.date_input("Starts (one-off: its date)", current.start_date
                                      if current else date.today().replace(day=1),
                                      key=f"{prefix}_start"),
        "end_date": middle.date_input("Ends (optional)", current.end_date if current else None,
                                      key=f"{prefix}_end"),
    }


recorded = expenses.list_expenses(actor.workspace_id)
with st.form("expense_add"):
    new_expense = expense_fields("exp_add", None)
    if st.form_submit_button("Add expense", key="exp_add_save"):
        attempt(lambda: expenses.add_expense(actor, **new_expense),
                f"Added {new_expense['name'].strip()}.")
if recorded:
    with st.expander("Edit or delete an expense"):
        by_id = {e.id: e for e in recorded}
        chosen = st.selectbox("Expense", list(by_id), key="exp_pick", format_func=lambda i: (
            f"{by_id[i].name} · {expenses.KIND_LABELS[by_id[i].kind]} · from "
            f"{by_id[i].start_date}"))
        with st.form("expense_edit"):
            edited = expense_fields(f"exp_edit_{chosen}", by_id[chosen])
            left, right = st.columns(2)
            save = left.form_submit_button("Save expense", key="exp_edit_save")
            remove = right.form_submit_button("Delete expense", key="exp_delete")
        if save:
            attempt(lambda: expenses.update_expense(actor, chosen, **edited), "Expense saved.")
        if remove:
            attempt(lambda: expenses.delete_expense(actor, chosen), "Expense deleted.")
listed = expenses.list_expenses(actor.workspace_id)
if listed:
    st.dataframe(pd.DataFrame([{
        "Name": e.name, "Kind": expenses.KIND_LABELS[e.kind],
        "Amount": None if e.amount is None else float(e.amount),
        "Share of revenue": None if e.percent is None else float(e.percent),
        "Currency": e.currency, "Starts": e.start_date, "Ends": e.end_date,
        "Ad spend": e.counts_as_ad_spend} for e in listed]), hide_index=True)
else:
    st.caption("No expenses yet.")

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

st.subheader("Pixel")
st.caption("The pixel sends your store's page views, add-to-carts and purchases to the pixel "
           "collector under this workspace's key, for attribution.")
pixel_shown = st.container()  # filled below, after a rotation has had its say
confirmed = st.checkbox("Replace the key: the pixel in the store stops counting until "
                        "it is updated", key="pixel_rotate_confirm")
if st.button("Rotate key", key="pixel_rotate", disabled=not confirmed):
    attempt(lambda: pixel_keys.rotate_pixel_key(actor),
            "New key made: paste the new pixel code into your store.")
with pixel_shown:
    pixel_config = get_config()
    pixel_key = pixel_keys.pixel_key(actor)
    st.code(pixel_key, language=None)
    if not collector_url(pixel_config).startswith("https://"):
        st.warning("Buyers' browsers reach the collector at "
                   f"{collector_url(pixel_config)}, which a store on https cannot post to: "
                   "set PIXEL_PUBLIC_URL to the collector's public https address.")
    st.caption("**Shopify**: Settings → Customer events → Add custom pixel: paste this code, "
               "Save, then Connect. Shopify no longer runs scripts on its Thank you and "
               "Order status pages, so this pixel is how purchases reach Metricx. Use it "
               "instead of the theme snippet below, not beside it.")
    st.code(shopify_custom_pixel(pixel_config, pixel_key), language="javascript")
    st.caption("**Other storefronts**: paste this into the theme (every page), and send the "
               "purchase on the order confirmation page as its comment shows.")
    st.code(snippet(pixel_config, pixel_key), language="html")
