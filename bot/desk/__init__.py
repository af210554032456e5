"""The desk: the bridge workers' web inbox (see :mod:`bot.desk.web`)."""
