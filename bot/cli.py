"""The ``wegwijs`` command. Sub-command groups live next to the code they drive."""

from __future__ import annotations

import click

from social_map.cli import map_group


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="wegwijs")
def main() -> None:
    """Wegwijs: find the right local service for parents in Leuven."""


main.add_command(map_group)
