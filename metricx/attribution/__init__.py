"""Attribution: which ads earned each Shopify order (journeys → touches → credits per model)."""
