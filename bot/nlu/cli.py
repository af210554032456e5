"""``wegwijs nlu``: train (only when needed), serve and evaluate the Rasa model."""

from __future__ import annotations

import os
import subprocess
import sys

import click

from bot.nlu import training
from bot.paths import NLU_PROJECT


@click.group("nlu")
def nlu_group() -> None:
    """Train, serve and evaluate the Rasa NLU model (nlu/)."""


@nlu_group.command("train")
@click.option("--force", is_flag=True, help="Train even if a model for these inputs exists.")
def train_cmd(force: bool) -> None:
    """Train the model unless one for the current config and data is cached."""
    from bot.nlu.train_progress import train_with_progress

    if force or training.latest_model() is None:
        last = training.last_duration()
        expected = f"about {last / 60:.0f} minutes" if last else "3 to 4 minutes on 2 cores"
        click.echo(
            f"==> Training the language model ({expected}; Rasa's log: {training.train_log_path()})"
        )
    try:
        result = train_with_progress(force=force)
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        raise click.ClickException(f"training failed: {exc}") from exc
    if result.trained:
        click.echo(f"    Trained {result.model.name} in {result.seconds / 60:.1f} minutes.")
    else:
        click.echo(
            f"==> Reusing the language model {result.model.name}: it was trained for this "
            "config and data before."
        )


@nlu_group.command("serve")
@click.option("--port", default=5005, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
def serve_cmd(port: int, host: str) -> None:
    """Run the Rasa server in the foreground (rasa run --enable-api)."""
    model = training.latest_model() or training.train(quiet=True).model
    cmd = [
        str(training.rasa_executable()),
        "run",
        "--enable-api",
        "--model",
        str(model),
        "--interface",
        host,
        "--port",
        str(port),
        "--quiet",
    ]
    os.chdir(NLU_PROJECT)
    os.execve(cmd[0], cmd, training.rasa_env())


@nlu_group.command("eval")
@click.option("--no-doc", is_flag=True, help="Print only; do not update docs/nlu.md.")
def eval_cmd(no_doc: bool) -> None:
    """Score the model on the held-out test split; write the results to docs/nlu.md."""
    from bot.nlu import evaluate
    from bot.nlu.server import nlu_endpoint

    with nlu_endpoint() as url:
        report = evaluate.run(url)
    model = training.latest_model()
    section = evaluate.to_markdown(report, model.name if model else "?")
    click.echo(section)
    if not no_doc:
        evaluate.write_doc(section)
        click.echo("Updated docs/nlu.md", err=True)
    if report.crisis_recall < 1.0:
        sys.exit(1)
