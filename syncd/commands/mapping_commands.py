"""``syncd mapping new SAMPLE``: a first mapping file for an export format, from a sample."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("mapping")
def mapping_group() -> None:
    """Write mapping files."""


@mapping_group.command("new")
@click.argument("sample", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--name", help="The mapping's name (default: the sample's file name).")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the draft here (default: print it).",
)
def mapping_new(sample: Path, name: str | None, output: Path | None) -> None:
    """Propose a commented mapping draft from SAMPLE (an XML or CSV export).

    Finds the record element, every field path with its fill rate and examples, and
    matches canonical fields by name and value shape. Check every GUESSED line, fill the
    LEFT ones, then try it with 'syncd check SAMPLE --mapping FILE'.
    """
    from syncd.formats.draft import propose, render
    from syncd.formats.survey import survey

    text = render(propose(survey(sample)), name or sample.stem)
    if output is None:
        click.echo(text, nl=False)
        return
    if output.exists():
        raise click.ClickException(f"{output} exists; choose another file or remove it first")
    output.write_text(text, encoding="utf-8")
    guessed, left = text.count("# GUESSED"), text.count("# LEFT")
    click.echo(f"wrote {output}: {guessed} guessed line(s), {left} left for you", err=True)
    click.echo(f"next: syncd check {sample} --mapping {output}", err=True)


COMMANDS: list[click.Command] = [mapping_group]
