"""The bot's web server (``/healthz`` and the webhooks), hardened for the open internet:
bounded request bodies, deadlines for slow clients, and a counted log of what strangers do."""
