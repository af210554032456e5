"""The channel-agnostic conversation: what the bot says back, whatever the channel."""
