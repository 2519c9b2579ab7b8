"""`phishline predict URL...`: check links with a model artifact, no server needed."""

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from phishline.commands.checks import artifact_option

# Links are printed as they are (no `:x:` emoji codes), one line each, however long.
console = Console(emoji=False, soft_wrap=True)


def predict(
    urls: Annotated[
        list[str],
        typer.Argument(
            help="The links to check; `-` reads one per line from stdin.", show_default=False
        ),
    ],
    model_dir: Annotated[Path, artifact_option("A model artifact directory.")] = Path(
        "models/ensemble"
    ),
    top_k: Annotated[
        int, typer.Option(min=0, max=20, help="How many features to explain; 0 for none.")
    ] = 5,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="One JSON line per link, as model-service answers it."),
    ] = False,
) -> None:
    """Whether each link is phishing, with the features that weighed most, in words.

    Exits with 1 when a link cannot be read as a web address (the others are still checked).
    """
    from lib_ml import BatchInputError, Predictor, explanation_items

    predictor = Predictor.load(model_dir)
    if "-" in urls:
        from_stdin = [line.strip() for line in sys.stdin if line.strip()]
        urls = [link for url in urls for link in (from_stdin if url == "-" else [url])]
    unreadable = 0
    for url in urls:
        try:
            prediction = predictor.predict_one(url, explain_top_k=top_k)
        except BatchInputError as error:
            unreadable += 1
            # As model-service words a refusal.
            answer: dict[str, Any] = {
                "url": url,
                "error": {"code": "invalid_url", "message": error.reason},
            }
        else:
            answer = {
                "url": url,
                "label": prediction.label,
                "probability": prediction.probability,
                "model": predictor.name,
                "model_version": predictor.version,
                "explanation": explanation_items(prediction.explanation),
            }
        if as_json:
            typer.echo(json.dumps(answer, ensure_ascii=False))
        else:
            show(answer)
    if unreadable:
        raise typer.Exit(1)


def show(answer: dict[str, Any]) -> None:
    url = escape(answer["url"])
    if "error" in answer:
        console.print(f"[bold yellow]unreadable[/]  {url}: {escape(answer['error']['message'])}")
        return
    verdict = "[bold red]phishing[/]  " if answer["label"] == "phishing" else "[green]legitimate[/]"
    console.print(f"{verdict} {answer['probability']:6.1%}  {url}")
    for item in answer["explanation"]:
        towards = "phishing" if item["weight"] > 0 else "legitimate"
        console.print(f"    {item['weight']:+.2f} towards {towards}: {escape(item['description'])}")
