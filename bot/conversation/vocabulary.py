"""Short labels the bot shows on buttons, marked for translation (English source)."""

from __future__ import annotations

from bot.conversation.i18n import N_

# The menu of needs, in the order a parent scans it: most asked first (domain brief).
NEED_LABELS: dict[str, str] = {
    "childcare": N_("Childcare"),
    "leisure": N_("Sport, play and camps"),
    "school_questions": N_("Questions about school"),
    "homework_help": N_("Homework help"),
    "school_costs": N_("School costs"),
    "paperwork": N_("Letters and forms"),
    "food": N_("Food"),
    "housing": N_("Housing"),
    "money": N_("Money"),
    "material_help": N_("Clothes and baby things"),
    "meeting_people": N_("Meet other parents"),
    "work_and_dutch": N_("Work and Dutch lessons"),
    "legal": N_("Legal help"),
    "digital": N_("Computer and internet"),
    "parenting": N_("Raising children"),
    "health": N_("Health"),
    "safety_crisis": N_("Danger or crisis"),
}

AREA_LABELS: dict[str, str] = {
    "leuven-centrum": N_("Leuven centre"),
    "heverlee": N_("Heverlee"),
    "kessel-lo": N_("Kessel-Lo"),
    "wilsele": N_("Wilsele"),
    "wijgmaal": N_("Wijgmaal"),
}

LANGUAGE_BUTTONS = (("nl", "Nederlands"), ("ar", "العربية"), ("fr", "Français"), ("en", "English"))
