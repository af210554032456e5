"""Understanding a parent's message: the Rasa model, language, area and the crisis safety net."""
