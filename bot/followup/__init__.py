"""Following up: checking back with parents after the bot suggested services."""
