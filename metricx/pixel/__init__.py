"""The pixel collector: storefront page views and purchases into `pixel_events`.

events (what a request may carry) -> ratelimit, keys (who may send, for which workspace) ->
writer (batched, idempotent INSERTs) -> app (the HTTP surface, served by uvicorn);
snippet renders what a store pastes: the theme snippet, or on Shopify the custom pixel
(shopify_custom_pixel.js) for Settings → Customer events.
"""
