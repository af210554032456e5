"""Training the model with a live progress line: the stage, DIET's epochs as a bar, the elapsed
time and an estimate of the time left (from the last training on this machine, refined by the
pace of the epochs once they run)."""

from __future__ import annotations

import time
from typing import TextIO

from bot.nlu import training
from bot.progress import StatusLine, bar, duration

FIRST_TRAINING_ESTIMATE = 210.0  # seconds on 2 cores, when this machine never trained before
SAVING_SHARE = 0.05  # the part of a training after the last epoch (persisting the model)


class TrainingDisplay:
    """Turns :class:`training.TrainStep` events into the text of a :class:`StatusLine`."""

    def __init__(self, expected: float | None) -> None:
        self.expected = expected or FIRST_TRAINING_ESTIMATE
        self.step = training.TrainStep()
        self.first: tuple[float, int] | None = None  # (monotonic time, epoch) of the first epoch
        self.last: tuple[float, int] | None = None  # ... and of the latest
        self.line: StatusLine | None = None

    def on_step(self, step: training.TrainStep) -> None:
        if step.epochs and step.epoch > 0:
            self.last = (time.monotonic(), step.epoch)
            self.first = self.first or self.last
        milestone = step.epochs and step.epoch * 4 // step.epochs != self.step.epoch * 4 // max(
            1, self.step.epochs
        )
        self.step = step
        if self.line is not None and (milestone or step.epochs == 0):
            self.line.draw(force=True)  # a log gets a line at each stage and each quarter

    def describe(self, elapsed: float) -> str:
        step = self.step
        if step.epochs and self.first and self.last and self.last[1] > self.first[1]:
            # The pace of the epochs seen so far, less the time since the latest one ended.
            per_epoch = (self.last[0] - self.first[0]) / (self.last[1] - self.first[1])
            running = time.monotonic() - self.last[0]
            left = max(per_epoch * (step.epochs - step.epoch) - running, 0.0)
            left += SAVING_SHARE * self.expected
            return (
                f"{bar(step.epoch, step.epochs)} epoch {step.epoch}/{step.epochs}, "
                f"{duration(elapsed)} elapsed, about {duration(left)} left"
            )
        verb = "finishing" if self.last else "preparing"  # components after DIET's epochs
        stage = f"{verb} ({step.component})" if step.component else "loading the training data"
        if step.epochs:
            stage = f"{bar(step.epoch, step.epochs)} epoch {step.epoch}/{step.epochs}"
        left = max(self.expected - elapsed, 10.0)
        return f"{stage}, {duration(elapsed)} elapsed, about {duration(left)} left"


def train_with_progress(force: bool = False, stream: TextIO | None = None) -> training.TrainResult:
    """``training.train`` with a live progress line (nothing is shown when a model is reused)."""
    if not force and training.latest_model() is not None:
        return training.train()
    display = TrainingDisplay(training.last_duration())
    with StatusLine("Training the language model", display.describe, stream) as line:
        display.line = line
        return training.train(force=force, progress=display.on_step)
