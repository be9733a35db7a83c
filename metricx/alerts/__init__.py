"""Alerts: rules that watch a metric and fire when it crosses a threshold or moves against a
baseline, evaluated by the metric engine itself (docs/design.md "Alerts").

rules.py     the rule: its fields, validated, and the workspace checks (metric, split)
schedule.py  when a rule runs, in the workspace's zone (DST-correct)
evaluate.py  the rule's period and baseline through `run_query`, compared; firings recorded
due.py       `evaluate_due`, the job: every rule whose time has come, then its next run
"""
