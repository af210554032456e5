"""Wegwijs: helps parents in Leuven find the right local service, and hands over to a bridge worker."""
