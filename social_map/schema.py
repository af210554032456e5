"""The ids and allowed values of the social map file format (see ``SCHEMA.md``).

These are a contract shared with the NLU, the conversation code and the editors, so they live
in one place and every other module imports them instead of repeating string literals.
"""

from __future__ import annotations

from typing import Any, Final

Record = dict[str, Any]
"""A checked service as plain JSON-ready data: the YAML fields, normalised (see ``loader``)."""

NEEDS: Final[tuple[str, ...]] = (
    "school_costs",
    "homework_help",
    "school_questions",
    "childcare",
    "leisure",
    "food",
    "material_help",
    "money",
    "housing",
    "paperwork",
    "work_and_dutch",
    "legal",
    "digital",
    "parenting",
    "health",
    "meeting_people",
    "safety_crisis",
)

AREAS: Final[dict[str, str]] = {
    "leuven-centrum": "3000",
    "heverlee": "3001",
    "kessel-lo": "3010",
    "wilsele": "3012",
    "wijgmaal": "3018",
}
"""Area id -> postcode. ``CITY_WIDE`` is not an area with a postcode: it means "all of them"."""

CITY_WIDE: Final = "leuven"

LANGUAGES: Final[tuple[str, ...]] = ("nl", "fr", "en", "ar")
"""Languages the bot speaks; per-language texts in the map use these keys. ``nl`` is required."""

DEFAULT_LANGUAGE: Final = "nl"

SERVICE_TYPES: Final[tuple[str, ...]] = ("service", "school", "helpline")
COSTS: Final[tuple[str, ...]] = ("free", "social_rate", "paid")
APPLICATION_PROCESSES: Final[tuple[str, ...]] = (
    "walk_in",
    "appointment",
    "referral",
    "phone",
    "online",
)

# Field names per kind of mapping. Order is the order used in documentation and error hints.
SERVICE_FIELDS: Final[tuple[str, ...]] = (
    "id",
    "type",
    "name",
    "description",
    "needs",
    "areas",
    "keywords",
    "end_date",
    "replaced_by",
    "url",
    "email",
    "phones",
    "whatsapp",
    "languages",
    "cost",
    "fees_description",
    "eligibility_description",
    "minimum_age",
    "maximum_age",
    "application_process",
    "application_description",
    "opening_hours",
    "opening_hours_note",
    "locations",
    "source",
    "last_verified",
)
REQUIRED_SERVICE_FIELDS: Final[tuple[str, ...]] = (
    "id",
    "name",
    "description",
    "needs",
    "areas",
    "source",
    "last_verified",
)
TEXT_FIELDS: Final[tuple[str, ...]] = (
    "name",
    "description",
    "fees_description",
    "eligibility_description",
    "application_description",
    "opening_hours_note",
)
"""Fields whose value is a text per language (``{nl: ..., fr: ...}``)."""

LOCATION_FIELDS: Final[tuple[str, ...]] = (
    "name",
    "address_1",
    "postal_code",
    "city",
    "area",
    "latitude",
    "longitude",
    "opening_hours",
)
PHONE_FIELDS: Final[tuple[str, ...]] = ("number", "description")
SOURCE_FIELDS: Final[tuple[str, ...]] = ("url", "document", "date", "note")

STALE_AFTER_MONTHS: Final = 12
"""An entry not checked by a person for this long gets a warning: hours and addresses drift."""

EXPLAINER_FIELDS: Final[tuple[str, ...]] = (
    "id",
    "title",
    "text",
    "keywords",
    "services",
    "source",
    "last_verified",
)
REQUIRED_EXPLAINER_FIELDS: Final[tuple[str, ...]] = (
    "id",
    "title",
    "text",
    "keywords",
    "source",
    "last_verified",
)
EXPLAINERS_FOLDER: Final = "explainers"
"""Files in a folder of this name (inside the map folder) are explainers, not services."""

MAX_KEYWORD_LENGTH: Final = 60
