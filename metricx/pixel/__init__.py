"""The pixel collector: storefront page views and purchases into `pixel_events`.

events (what a request may carry) -> ratelimit, keys (who may send, for which workspace) ->
writer (batched, idempotent INSERTs) -> app (the HTTP surface, served by uvicorn);
snippet is the JavaScript a store pastes into its pages.
"""
