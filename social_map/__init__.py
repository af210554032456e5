"""The Leuven social map: YAML files kept by editors, checked, built into SQLite, read by the bot.

The flow is one-way so each step can be tested on its own:
``loader`` (validate YAML, report every problem with its line) -> ``build`` (atomic SQLite file)
-> ``store`` (fast read API for the bot). ``hours`` and ``holidays`` evaluate opening hours.
"""
