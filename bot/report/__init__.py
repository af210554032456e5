"""The network's figures: what bridge work reached, per school year, for the city and the working group."""
