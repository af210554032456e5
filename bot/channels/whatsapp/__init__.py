"""The WhatsApp channel, on Meta's WhatsApp Cloud API (webhook in, Graph API out)."""
