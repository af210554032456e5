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
@click.option(
    "--set",
    "which",
    type=click.Choice(["all", "split", "long", "dev", "check"]),
    default="all",
    show_default=True,
    help="split: the held-out test split; long: the long real messages of nlu/eval/ (and its "
    "check set); dev, check: only those messages of nlu/eval/ (printed only).",
)
def eval_cmd(no_doc: bool, which: str) -> None:
    """Score the model on the held-out test split and the long messages; write docs/nlu.md."""
    from bot.nlu import evaluate, evaluate_long
    from bot.nlu.server import nlu_endpoint

    model = training.latest_model()
    name = model.name if model else "?"
    recall = 1.0
    with nlu_endpoint() as url:
        if which in ("all", "split"):
            report = evaluate.run(url)
            recall = report.crisis_recall
            section = evaluate.to_markdown(report, name)
            click.echo(section)
            if not no_doc:
                evaluate.write_doc(section)
        if which in ("dev", "check"):
            click.echo(evaluate_long.to_markdown(evaluate_long.run(url, which), name))
        if which in ("all", "long"):
            long_report = evaluate_long.run(url)
            check = evaluate_long.run(url, "check")
            crisis = [s for s in long_report.scored if s.message.intent == "safety_crisis"]
            if crisis:
                recall = min(recall, sum(s.kind == "crisis" for s in crisis) / len(crisis))
            section = evaluate_long.to_markdown(long_report, name, check)
            click.echo(section)
            if not no_doc:
                evaluate_long.write(section)
    if not no_doc and which in ("all", "split", "long"):
        click.echo("Updated docs/nlu.md", err=True)
    if recall < 1.0:
        sys.exit(1)
