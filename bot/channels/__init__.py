"""Channel adapters: each turns a platform's updates into :class:`Incoming` and back."""
