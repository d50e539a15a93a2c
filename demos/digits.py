"""Handwritten digits: a network learns from examples, and learns only what the examples show.

The 8×8 digits that ship inside scikit-learn (1,797 images, no download), an MLP with softmax
cross-entropy, trained by Adam on minibatches, each step compiled (the labels go in as one-hot
floats, so one recorded graph serves every batch); held-out accuracy, a confusion matrix and
the misclassified digits. Then the same network is shown the test digits colour-inverted (dark
ink on a light background): it fails, though a person would not. A network trained from
scratch with inverted copies added to its training set, for the same number of steps, reads
both.

Run: python demos/digits.py   (needs scikit-learn: pip install -e '.[demos]'; out/digits/)
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from _common import parse_options, progress, pyplot, require, save_figure, table

import autograd_lite as ag
from autograd_lite.losses import cross_entropy
from autograd_lite.nn import MLP
from autograd_lite.optim import Adam

SEED = 0
HIDDEN = 16  # small on purpose: a scalar engine pays per multiply, and 16 already reaches 95%
# ReLU, not tanh: with pixels centred on 0, inverting an image negates it, and a network of odd
# functions (tanh) maps -x to nearly -output; ReLU units can learn |w·x|, which ignores the sign.
ACTIVATION = "relu"
TEST_FRACTION = 0.2
BATCH = 32
LEARNING_RATE = 0.02  # Adam's, decayed linearly to a tenth over the run

Example = tuple[list[float], int]


@dataclass(frozen=True)
class Result:
    """What the demo measured."""

    test_accuracy: float  # the plain model on held-out digits
    inverted_accuracy: float  # the plain model on the same digits, inverted
    augmented_accuracy: float  # the model trained with inverted copies, on held-out digits
    augmented_inverted_accuracy: float  # ... and on the inverted ones
    confusion: list[list[int]]  # rows: true digit, columns: predicted digit
    train_size: int
    test_size: int
    seconds: float
    pictures: list[Path]
    training: Training  # the plain model's


def load(fast: bool) -> tuple[list[Example], list[Example], list[list[float]]]:
    """Seeded train/test split of scikit-learn's digits, pixels scaled from 0..16 to -1..1."""
    datasets = require("sklearn.datasets", "the bundled 8x8 digits")
    digits = datasets.load_digits()
    examples = [
        # Centred inputs (background -1, ink +1) train faster than 0..16.
        ([pixel / 8.0 - 1.0 for pixel in row], int(label))
        for row, label in zip(digits.data.tolist(), digits.target.tolist(), strict=True)
    ]
    random.Random(SEED).shuffle(examples)
    n_test = round(TEST_FRACTION * len(examples))
    test, train = examples[:n_test], examples[n_test:]
    if fast:
        train = train[:480]
    return train, test, [image for image, _ in test]


def inverted(examples: Sequence[Example]) -> list[Example]:
    """The same digits, dark ink on a light background: every pixel x becomes −x."""
    return [([-p for p in image], label) for image, label in examples]


def predict(model: MLP, image: list[float]) -> int:
    """The digit with the largest logit."""
    logits = model(image)
    return max(range(10), key=lambda k: logits[k].data)


def accuracy(model: MLP, examples: Sequence[Example]) -> float:
    """The fraction of examples whose predicted digit is the true one."""
    with ag.no_grad():
        right = sum(predict(model, image) == label for image, label in examples)
    return right / len(examples)


@dataclass
class Training:
    """What one training run measured: each epoch's mean loss and the compiled step's speed."""

    epoch_losses: list[float]
    steps: int
    seconds: float  # all the steps, the first call's recording and compiling included
    first_call: float  # recording and compiling, summed over the batch sizes met
    graph_mode: float  # one batch's forward and backward pass in graph mode, for comparison


def one_hot(label: int) -> list[float]:
    """The label as ten class probabilities: 1.0 for its class, 0.0 for the others."""
    return [1.0 if k == label else 0.0 for k in range(10)]


def train(
    model: MLP, examples: Sequence[Example], epochs: int, batch_size: int, desc: str
) -> Training:
    """Minibatch Adam on the mean cross-entropy, each step compiled."""
    params = model.parameters()
    batches_per_epoch = -(-len(examples) // batch_size)
    total = epochs * batches_per_epoch
    optimizer = Adam(params, lr=LEARNING_RATE, lr_schedule=lambda k: 1.0 - 0.9 * k / total)

    def batch_loss(images: list[list[float]], targets: list[list[float]]) -> ag.Value:
        """The mean cross-entropy of a batch."""
        # One graph for the whole batch: every example's subgraph reads the same weights,
        # so backward() adds up each weight's gradient over the batch.
        pairs = zip(images, targets, strict=True)
        losses = [cross_entropy(model(image), target) for image, target in pairs]
        return ag.sum(losses) / len(images)

    # compile() records the batch's graph at its first call and replays it as Python code at
    # every later one, with graph mode's numbers bit for bit (the gradients land in .grad).
    # The labels go in as one-hot floats: an int label would be a constant of the recorded
    # graph, so every batch with other labels would be recorded anew; floats are data.
    step = ag.compile(batch_loss)
    rng = random.Random(SEED)
    order = list(examples)
    epoch_losses: list[float] = []
    started = time.perf_counter()
    for epoch in range(epochs):
        rng.shuffle(order)
        running = 0.0
        batches = range(0, len(order), batch_size)
        for start in progress(batches, desc=f"{desc}, epoch {epoch + 1}/{epochs}"):
            batch = order[start : start + batch_size]
            images = [image for image, _ in batch]
            targets = [one_hot(label) for _, label in batch]
            optimizer.zero_grad()
            loss = step(images, targets)
            optimizer.step()
            running += loss * len(batch)
        epoch_losses.append(running / len(order))
    seconds = time.perf_counter() - started
    # One batch once more in graph mode, to say what compiling saves (gradients dropped).
    batch = order[:batch_size]
    started = time.perf_counter()
    batch_loss([image for image, _ in batch], [one_hot(label) for _, label in batch]).backward()
    graph_mode = time.perf_counter() - started
    optimizer.zero_grad()
    first_call = sum(sum(trace.seconds.values()) for trace in step.traces)
    return Training(epoch_losses, total, seconds, first_call, graph_mode)


def confusion_matrix(model: MLP, examples: Sequence[Example]) -> list[list[int]]:
    """counts[true][predicted] over the examples."""
    counts = [[0] * 10 for _ in range(10)]
    with ag.no_grad():
        for image, label in examples:
            counts[label][predict(model, image)] += 1
    return counts


def main(argv: Sequence[str] | None = None) -> Result:
    """Train the plain and the augmented model, score both, and draw."""
    options = parse_options("digits", __doc__ or "", argv)
    began = time.perf_counter()
    train_set, test_set, _ = load(options.fast)
    epochs = 2 if options.fast else 6
    batch_size = 16 if options.fast else BATCH  # fast: fewer examples, so smaller batches
    print(
        f"Digits: {len(train_set)} training and {len(test_set)} held-out images of 8×8 pixels;\n"
        f"MLP(64, [{HIDDEN}, 10], {ACTIVATION}), softmax cross-entropy, Adam (lr {LEARNING_RATE} → "
        f"{LEARNING_RATE / 10:g}), batches of {batch_size}, {epochs} epochs."
    )
    model = MLP(64, [HIDDEN, 10], activation=ACTIVATION, returns=list, seed=SEED)
    training = train(model, train_set, epochs, batch_size, desc="plain")
    for epoch, loss in enumerate(training.epoch_losses, 1):
        print(f"  epoch {epoch}: mean training loss {loss:.4f}")
    replay = (training.seconds - training.first_call) / training.steps
    print(
        f"Compiled training: {training.steps} steps in {training.seconds:.1f} s, recording and "
        f"compiling included ({training.first_call:.2f} s);\neach step (the replay and Adam's "
        f"update) took {1000 * replay:.1f} ms, where one batch's forward and backward pass\n"
        f"alone take {1000 * training.graph_mode:.0f} ms in graph mode."
    )
    test_accuracy = accuracy(model, test_set)
    print(
        f"Held-out accuracy: {100 * test_accuracy:.1f}% ({len(test_set)} digits never trained on)"
    )
    confusion = confusion_matrix(model, test_set)
    print("Confusion matrix (rows: true digit, columns: predicted digit):")
    print(table([(d, *row) for d, row in enumerate(confusion)], ("", *map(str, range(10)))))

    inverted_test = inverted(test_set)
    inverted_accuracy = accuracy(model, inverted_test)
    with ag.no_grad():
        guesses = [predict(model, image) for image, _ in inverted_test]
    favourite = max(range(10), key=guesses.count)
    print(
        f"\nThe same digits inverted (dark ink on light): {100 * inverted_accuracy:.1f}% right, "
        f"where chance is 10%;\nit calls {100 * guesses.count(favourite) / len(guesses):.0f}% "
        f"of them a {favourite}. The network never saw a light background, and nothing in\n"
        "its training told it that ink is ink whatever its colour. It learned what the data "
        "showed it,\nnothing more."
    )
    # Same number of gradient steps as the plain model: half the epochs over twice the data.
    augmented_epochs = max(1, epochs // 2)
    plural = "s" if augmented_epochs > 1 else ""
    print(
        f"\nNow train a fresh network on the training set plus an inverted copy of each image "
        f"({2 * len(train_set)} images, {augmented_epochs} epoch{plural}: as many steps as before)."
    )
    augmented = MLP(64, [HIDDEN, 10], activation=ACTIVATION, returns=list, seed=SEED)
    augmented_set = [*train_set, *inverted(train_set)]
    train(augmented, augmented_set, augmented_epochs, batch_size, desc="augmented")
    augmented_accuracy = accuracy(augmented, test_set)
    augmented_inverted = accuracy(augmented, inverted_test)
    print(
        table(
            [
                (
                    "plain digits only",
                    f"{100 * test_accuracy:.1f}%",
                    f"{100 * inverted_accuracy:.1f}%",
                ),
                (
                    "with inverted copies",
                    f"{100 * augmented_accuracy:.1f}%",
                    f"{100 * augmented_inverted:.1f}%",
                ),
            ],
            ("trained on", "held-out digits", "held-out inverted"),
        )
    )

    pictures = [
        draw_confusion(confusion, test_accuracy, options.out),
        draw_misclassified(model, test_set, options.out),
        draw_inverted(model, augmented, test_set, options.out),
    ]
    seconds = time.perf_counter() - began
    print(f"Done in {seconds:.0f} s.")
    return Result(
        test_accuracy=test_accuracy,
        inverted_accuracy=inverted_accuracy,
        augmented_accuracy=augmented_accuracy,
        augmented_inverted_accuracy=augmented_inverted,
        confusion=confusion,
        train_size=len(train_set),
        test_size=len(test_set),
        seconds=seconds,
        pictures=pictures,
        training=training,
    )


def draw_confusion(confusion: list[list[int]], acc: float, out: Path) -> Path:
    """The confusion matrix as a picture, with the counts written in."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.imshow(confusion, cmap="Blues")
    for true, row in enumerate(confusion):
        for predicted, count in enumerate(row):
            if count:
                colour = "white" if true == predicted else "black"
                ax.text(
                    predicted, true, str(count), ha="center", va="center", color=colour, fontsize=8
                )
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set(
        xlabel="predicted digit",
        ylabel="true digit",
        title=f"Held-out digits: {100 * acc:.1f}% right",
    )
    return save_figure(fig, out / "confusion_matrix.png")


def draw_misclassified(model: MLP, examples: Sequence[Example], out: Path) -> Path:
    """Every held-out digit the model got wrong (up to 24), titled true → predicted."""
    with ag.no_grad():
        wrong = [(image, label, predict(model, image)) for image, label in examples]
    wrong = [(image, label, guess) for image, label, guess in wrong if guess != label][:24]
    plt = pyplot()
    columns = 8
    rows = max(1, -(-len(wrong) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.2, rows * 1.45), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (image, label, guess) in zip(axes.flat, wrong):
        ax.imshow(_square(image), cmap="gray", vmin=-1.0, vmax=1.0)
        ax.set_title(f"{label} → {guess}", fontsize=9, color="tab:red")
    fig.suptitle("Misclassified held-out digits (true → predicted)")
    return save_figure(fig, out / "misclassified.png")


def draw_inverted(model: MLP, augmented: MLP, examples: Sequence[Example], out: Path) -> Path:
    """Ten held-out digits and their inverses, with what each network reads in the inverses."""
    firsts = [next(e for e in examples if e[1] == d) for d in range(10)]
    plt = pyplot()
    fig, axes = plt.subplots(2, 10, figsize=(12, 3.4))
    with ag.no_grad():
        for d, (image, label) in enumerate(firsts):
            flipped = [-p for p in image]
            axes[0][d].imshow(_square(image), cmap="gray", vmin=-1.0, vmax=1.0)
            axes[1][d].imshow(_square(flipped), cmap="gray", vmin=-1.0, vmax=1.0)
            axes[0][d].set_title(f"{label}", fontsize=10)
            for row, (name, net) in enumerate((("plain", model), ("augmented", augmented))):
                guess = predict(net, flipped)
                axes[1][d].text(
                    0.5,
                    -0.12 - 0.2 * row,
                    f"{name}: {guess}",
                    transform=axes[1][d].transAxes,
                    ha="center",
                    va="top",
                    fontsize=8,
                    color="tab:green" if guess == label else "tab:red",
                )
            for ax in (axes[0][d], axes[1][d]):
                ax.set_xticks([])
                ax.set_yticks([])
    fig.suptitle(
        "Held-out digits (top) and the same digits inverted (bottom), as read by the plain\n"
        "network and by the one trained with inverted copies (green: right, red: wrong)",
        y=1.04,
    )
    return save_figure(fig, out / "inverted.png")


def _square(image: list[float]) -> list[list[float]]:
    return [image[8 * r : 8 * r + 8] for r in range(8)]


if __name__ == "__main__":
    main(sys.argv[1:])
