"""Handoff to a named bridge worker: who they are, routing, the handoff desk, the staff room."""
