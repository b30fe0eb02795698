"""Command line: `python -m list_core train|predict|split|worker ...` (see `--help` of each verb)."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any, Sequence

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m list_core", description="LiST few-shot text classification")
    # The worker verb (the app's training process) stays out of the listing: argparse prints '==SUPPRESS==' for a
    # sub-parser whose help is SUPPRESS, so it gets no help and the metavar names the public verbs.
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="{train,predict,split}")

    t = verbs.add_parser("train", help="train a classifier and write a run directory")
    t.add_argument("--labeled", help="labeled file (csv, tsv, jsonl, json, parquet); required unless --resume")
    t.add_argument("--unlabeled", help="unlabeled file (csv, tsv, jsonl, json, parquet, txt)")
    t.add_argument("--eval", help="optional labeled evaluation file")
    t.add_argument("--template", help="prompt, e.g. '{text} It was {mask}.'; required unless --resume")
    t.add_argument("--verbalizer", help="label=word pairs, e.g. 'neg=terrible,pos=great'; required unless --resume")
    t.add_argument("--text-column", action="append", dest="text_columns",
                   help="text column (repeat for pairs); default: the template's placeholders")
    t.add_argument("--label-column", default="label",
                   help="label column of --labeled and --eval (default: label); the same name in both files")
    t.add_argument("--model", default=None, help="Hugging Face name or local path; default: embedded MiniLM")
    t.add_argument("--iterations", type=int, default=None,
                   help="self-training iterations (0: the teacher alone); default: the preset's (quick 1, paper 6)")
    t.add_argument("--preset", default="quick", choices=["quick", "paper"],
                   help="schedule: quick (minutes on a CPU, the default) or paper (the authors', for a GPU)")
    t.add_argument("--device", default=None, choices=["auto", "cpu", "cuda"],
                   help="default auto: the GPU when there is one")
    t.add_argument("--seed", type=int, default=None, help="seed of the run (default 0)")
    t.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="any config field, e.g. --set reweight=false --set student_steps=200 (see "
                        "list_core/config.py)")
    t.add_argument("--out", required=True, help="run directory to create")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its last iteration, with "
                   "the config and data it was started with")
    t.add_argument("--quiet", action="store_true", help="no progress bars, load summaries or report (errors are "
                   "still said); the exit code is 0 when the run is done")

    p = verbs.add_parser("predict", help="label a file with a trained run")
    p.add_argument("--run", required=True, help="run directory of train (its last finished iteration), or a "
                   "directory made by ListClassifier.save")
    p.add_argument("--input", required=True, help="file to label (csv, tsv, jsonl, json, parquet, txt); its columns "
                   "and rows are all kept")
    p.add_argument("--output", required=True, help="the input with prediction and confidence columns added; "
                   ".csv, .tsv, .jsonl, .json or .parquet")
    p.add_argument("--text-column", action="append", dest="text_columns",
                   help="text column (repeat for pairs); default: the --text-column the run was trained with "
                        "when the file has those columns, else the template's placeholders")
    p.add_argument("--device", default=None, choices=["auto", "cpu", "cuda"],
                   help="default: the run's own (auto: the GPU when there is one)")

    s = verbs.add_parser("split", help="make labeled / unlabeled / test files with K labels per class")
    s.add_argument("--input", required=True, help="labeled file (csv, tsv, jsonl, json, parquet); rows without a "
                   "label go to the unlabeled pool")
    s.add_argument("--k", type=int, default=16, help="labeled examples per class (default 16)")
    s.add_argument("--seed", type=int, default=0, help="which K rows per class are drawn (default 0); the test "
                   "rows are the same for every seed")
    s.add_argument("--label-column", default="label", help="default: label")
    s.add_argument("--test-size", type=float, default=0.5,
                   help="below 1: the fraction of the rows held out as test.csv (default 0.5); 1 or more: that many "
                        "rows")
    s.add_argument("--out", required=True, help="directory for labeled.csv, unlabeled.csv, test.csv")

    w = verbs.add_parser("worker")
    w.add_argument("--run", required=True)
    w.add_argument("--resume", action="store_true")
    return parser


def _column_map(template_fields: Sequence[str], text_columns: Sequence[str] | None) -> tuple[list[str], dict]:
    """File columns to read, and how to rename them to the template's placeholders."""
    if not text_columns:
        return list(template_fields), {}
    if len(text_columns) != len(template_fields):
        from .prompts import PromptError

        raise PromptError(f"the template uses {len(template_fields)} column(s) {list(template_fields)} but "
                          f"{len(text_columns)} --text-column were given")
    return list(text_columns), {c: f for c, f in zip(text_columns, template_fields) if c != f}


def _rows(ds, rename: dict) -> list[dict]:
    return [{rename.get(k, k): v for k, v in row.items()} for row in ds.to_list()]


def _whole_pairs(rows: list[dict], fields: Sequence[str], what: str, say, fate: str = "left out") -> list[dict]:
    """The rows with text in every template field. The loader keeps a pair row with one blank text (only a row blank
    in every column is 'empty'); a premise alone trains, pseudo-labels and measures nothing the task asks."""
    from .workspace import _blank_texts  # the app's own test of a half-pair

    if len(fields) < 2:
        return rows
    whole = [r for r in rows if not _blank_texts(r, fields)]
    if len(whole) < len(rows):
        n = len(rows) - len(whole)
        say(f"{n} {what} row{'' if n == 1 else 's'} with a blank {' or '.join(fields)}: {fate} "
            "(a pair needs both texts)")
    return whole


# Config fields that `train` also takes as flags of their own; `--set` may give them too, but not both ways.
FLAG_FIELDS = ("template", "verbalizer", "model", "iterations", "device", "seed")


def config_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The config fields given by `--set FIELD=VALUE` and by their own flags, checked: unknown fields, a pair without
    '=', and a field given both ways with different values are errors that say what to write instead."""
    from .config import ConfigError, parse_settings
    from .prompts import Verbalizer

    values = parse_settings(args.set)
    if isinstance(values.get("verbalizer"), str):
        values["verbalizer"] = Verbalizer.parse(values["verbalizer"])
    for name in FLAG_FIELDS:
        flag = getattr(args, name)
        if flag is None:
            continue
        flag = Verbalizer.parse(flag) if name == "verbalizer" else flag
        if name in values and values[name] != flag:
            raise ConfigError(f"{name} is given twice, as --{name} {getattr(args, name)!r} and as --set "
                              f"{name}=...; give it once")
        values[name] = flag
    missing = [f"--{name}" for name in ("template", "verbalizer") if values.get(name) is None]
    if missing:
        raise ConfigError(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} required to start a run "
                          "(or continue one with --out RUN_DIR --resume)")
    return values


def cmd_train(args: argparse.Namespace) -> int:
    from .config import ConfigError, ListConfig
    from .data import DataError
    from .data import load_examples as _load_examples
    from .job import create_run, execute_run
    from .prompts import Template
    from .runs import ACTIVE_STATES, RunDir

    if args.resume:
        given = [f"--{n.replace('_', '-')}" for n in ("labeled", "unlabeled", "eval", "template", "verbalizer",
                                                      "model", "iterations", "device", "seed", "text_columns")
                 if getattr(args, n)] + (["--set"] if args.set else [])
        if given and not args.quiet:
            print(f"note: {', '.join(given)} ignored: a resumed run keeps the config and data it was started with",
                  file=sys.stderr)
        run = RunDir(args.out)
        status = run.status()  # a dead process reads as 'interrupted': only a live one is refused
        if status.get("state") in ACTIVE_STATES and status.get("pid"):
            raise ConfigError(f"{run.path} is still {status['state']} (process {status['pid']}); two trainers "
                              f"would write one run directory. Stop it first (create {run.stop_path} or kill "
                              f"{status['pid']}), then resume")
        execute_run(run.path, resume=True, callbacks=[] if args.quiet else [ProgressBar()])
        return _report(run, quiet=args.quiet)
    if not args.labeled:
        raise ConfigError("--labeled is required to start a run (or continue one with --out RUN_DIR --resume)")
    settings = config_settings(args)
    if settings.get("model") and os.path.isdir(settings["model"]):  # './my-bert': found from any directory later
        settings["model"] = os.path.abspath(settings["model"])
    mapping = settings["verbalizer"]
    template = Template(settings["template"])
    config = ListConfig.from_preset(args.preset, **settings)
    check_prompt(config)
    columns, rename = _column_map(template.fields, args.text_columns)
    labels = list(mapping)
    say = (lambda *_: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))

    def load_examples(*a, **kw):  # a file without the template's placeholder as a column: say how to name it
        try:
            return _load_examples(*a, **kw)
        except DataError as exc:
            if args.text_columns or not re.search(r" text column '.*' not found", str(exc)):
                raise
            raise DataError(f"{str(exc).rstrip('.')}. The template's placeholders are the columns it reads: name the "
                            "file's text column with --text-column COLUMN, or write the placeholder as {COLUMN}") \
                from exc

    labeled, rep = load_examples(args.labeled, text_columns=columns, label_column=args.label_column, labels=labels)
    say(rep.summary())
    for w in rep.warnings:
        say(f"  warning: {w}")
    unlabeled = []
    if args.unlabeled:
        ds, rep = load_examples(args.unlabeled, text_columns=columns)
        say(rep.summary())
        unlabeled = _whole_pairs(_rows(ds, rename), template.fields, "unlabeled", say)
    labeled_rows = _whole_pairs(_rows(labeled, rename), template.fields, "labeled", say)
    # The trainer refuses this too, but only once the run directory exists: it would then hold a failed run and
    # block the same --out.
    have = {str(r.get("label")).strip() for r in labeled_rows}
    missing = [lab for lab in labels if lab not in have]
    if missing:
        raise ConfigError(f"no labeled example for class(es) {missing} in {args.labeled}; label at least one per "
                          "class, or take the class out of --verbalizer")
    eval_rows, left_out = None, 0
    if args.eval:
        ds, rep = load_examples(args.eval, text_columns=columns, label_column=args.label_column, labels=labels)
        say(rep.summary())
        # As the app does: a text trained on measures nothing, so an eval row that is a labeled example is left out.
        trained = {tuple(r[f] for f in template.fields) for r in labeled_rows}
        all_eval = _whole_pairs(_rows(ds, rename), template.fields, "evaluation", say)
        eval_rows = [r for r in all_eval if tuple(r[f] for f in template.fields) not in trained]
        left_out = len(all_eval) - len(eval_rows)
        if left_out:
            say(f"{left_out} evaluation rows are labeled examples: left out of the evaluation"
                + ("" if eval_rows else "; it uses labeled examples held out of training instead"))
        pooled = {tuple(r[f] for f in template.fields) for r in unlabeled}
        in_pool = sum(tuple(r[f] for f in template.fields) in pooled for r in eval_rows)
        if in_pool:  # as the app's Data page says of an evaluation file that is also the pool
            say(f"{in_pool} evaluation rows are also in the unlabeled pool: the run pseudo-labels their texts (never "
                "seeing their labels), so accuracy on them can read higher than on texts the model has never seen")
    sources = {"labeled": str(args.labeled), "unlabeled": args.unlabeled, "eval": args.eval,
               "eval_rows_left_out_as_labeled": left_out, "text_columns": columns, "label_column": args.label_column}
    run = create_run(args.out, config, labeled_rows, unlabeled, eval_rows, sources)
    execute_run(run.path, callbacks=[] if args.quiet else [ProgressBar()])
    return _report(run, quiet=args.quiet)


def _rejected(row: dict) -> str:
    """'rejected 48.3% of 480 re-weighted ' for an iteration whose student re-weighted its pseudo-labels: the model
    card's figure (its `_share` and `_of_count`). The mean weight it printed sits near 1 by construction (weights
    are relative within a batch)."""
    from .workspace import _of_count, _share

    share = _share(row.get("zero_weight_share"))
    if share == "n/a":
        return ""
    of = _of_count(row.get("reweighted_examples"), row)
    return f"rejected {share}" + (f"{of} re-weighted " if of else " ")


def _report(run, quiet: bool = False) -> int:
    status = run.status()
    if not quiet:
        for row in run.metrics():
            acc = row.get("accuracy")
            print(f"iteration {row['iteration']}: " + (f"accuracy {acc:.4f} macro-F1 {row['macro_f1']:.4f} "
                                                      if acc is not None else "")
                  + _rejected(row)
                  + f"({row['seconds']:.1f}s)")
        from .workspace import CLI_EVAL_HINT, run_accuracy_readout

        readout = run_accuracy_readout(run, eval_hint=CLI_EVAL_HINT)
        if readout:
            print(("warning: " if readout[0] == "warning" else "") + readout[1])
        print(f"{status['state']}: {run.path}")
    return 0 if status["state"] == "done" else 3


def check_prompt(config) -> None:
    """Template, device, and label words against the model's tokenizer, before any data is copied or model trained
    (a run directory, once made, holds the run even when it fails at once: its --out cannot be given again)."""
    from transformers import AutoTokenizer

    from .modeling import ModelLoadError, resolve_device, resolve_model_path
    from .prompts import Template, Verbalizer
    from .workspace import check_masked_lm

    Template(config.template)
    resolve_device(config.device)  # '--device cuda' without a GPU
    path = resolve_model_path(config.model)
    check_masked_lm(config.model, path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
    except Exception as exc:  # noqa: BLE001
        raise ModelLoadError(f"could not load the tokenizer of {config.model!r} ({type(exc).__name__}); pass a "
                             "local model directory or a reachable Hugging Face name") from exc
    Verbalizer(config.verbalizer, tokenizer)


class ProgressBar:
    """tqdm bars per stage on stderr."""

    def __init__(self):
        self.bar = None
        self.key = None

    def __call__(self, event: dict) -> None:
        from tqdm import tqdm

        if event["type"] == "progress":
            key = (event["stage"], event.get("iteration"), event["total"])
            if key != self.key:
                self.close()
                self.key = key
                self.bar = tqdm(total=event["total"], desc=f"{event['stage']}", leave=False, file=sys.stderr)
            self.bar.n = event["step"]
            if "loss" in event and event["loss"] is not None:
                self.bar.set_postfix(loss=f"{event['loss']:.4f}", refresh=False)
            self.bar.refresh()
        elif event["type"] == "iteration":
            self.close()
            m = event["metrics"]
            acc = f" accuracy {m['accuracy']:.4f}" if m.get("accuracy") is not None else ""
            tqdm.write(f"iteration {event['iteration']} done{acc}", file=sys.stderr)
        elif event["type"] == "log":
            tqdm.write(event["message"], file=sys.stderr)
        elif event["type"] == "done":
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


WRITABLE = ("csv", "tsv", "jsonl", "json", "parquet")  # the formats data.write_table writes


def _say_run_state(path: Path) -> None:
    """A run directory that is not done (still training, failed, stopped, interrupted) predicts with the model of
    its last finished iteration, which is said; with none finished there is nothing to predict with. A save()
    directory has no status.json and is left to the loader."""
    import json

    from .config import ConfigError
    from .runs import ACTIVE_STATES, RunDir

    run = RunDir(path)
    if not run.status_path.exists() or not run.config_path.exists():
        return
    status = run.status()
    state = status.get("state")
    if state == "done":
        return
    how = "still " + str(state) if state in ACTIVE_STATES else str(state)
    why = f" ({status['error']})" if status.get("error") and state != "cancelled" else ""
    if not run.model_path.exists():
        then = ("wait for its first iteration to finish" if state in ACTIVE_STATES else
                "fix what failed and start a new run" if state == "failed" else
                f"resume it with `python -m list_core train --out {run.path} --resume`")
        raise ConfigError(f"{run.path} is {how}{why} and no iteration has finished, so it has no model to predict "
                          f"with yet; {then}")
    iteration = None
    try:
        from safetensors import safe_open

        with safe_open(str(run.model_path), "pt") as handle:
            iteration = json.loads((handle.metadata() or {}).get("metadata") or "{}").get("iteration")
    except Exception:  # noqa: BLE001 - a damaged file is said by the loader
        pass
    which = f"iteration {iteration}, the last one that finished" if iteration is not None else \
        "the model of its last finished iteration"
    print(f"note: {run.path} is {how}{why}: predicting with {which}", file=sys.stderr)


def cmd_predict(args: argparse.Namespace) -> int:
    from .classifier import ListClassifier
    from .data import _FORMAT_ALIASES, DataError, load_examples, read_table, write_table
    from .runs import read_json

    # What write_table takes, checked before the model is loaded and every row predicted.
    if _FORMAT_ALIASES.get(Path(args.output).suffix.lower().lstrip(".")) not in WRITABLE:
        raise DataError(f"cannot write '{Path(args.output).name}': use a .csv, .tsv, .jsonl, .json or .parquet file "
                        "name.")
    # Keep every column and row of the input; rows skipped as empty get no prediction ("id" = row position).
    # Written as JSON, the input's own numbers and booleans stay numbers and booleans (not "1", "true"). Read before
    # the model is loaded: a mistyped path or an empty file is said at once.
    as_json = Path(args.output).suffix.lower().lstrip(".") in ("json", "jsonl", "ndjson")
    frame = read_table(args.input, keep_types=as_json)[0].reset_index(drop=True)
    _say_run_state(Path(args.run))
    clf = ListClassifier.load(args.run, device=args.device)
    fields, text_columns = clf.template_.fields, args.text_columns
    if not text_columns:  # a run trained with --text-column reads a file that has those columns by them
        sources = (read_json(Path(args.run) / "config.json", {}) or {}).get("sources") or {}
        fmap = sources.get("field_map")  # an app run's: data column -> template field (its columns are in pool order)
        if isinstance(fmap, dict) and fmap:
            by_field = {str(f): str(c) for c, f in fmap.items()}
            trained = [by_field.get(f) for f in fields]
        else:  # the command line's, in the template's order
            trained = [str(c) for c in sources.get("text_columns") or []]
        have = list(map(str, frame.columns))
        if len(trained) == len(fields) and all(trained) and set(trained) <= set(have):
            text_columns = trained
        elif len(trained) == len(fields) and all(trained) and trained != list(fields) and \
                not set(fields) <= set(have):  # the loader would name only the placeholders, never the run's columns
            raise DataError(f"{Path(args.input).name} has neither the column(s) the run was trained on "
                            f"({', '.join(map(repr, trained))}) nor its template's ({', '.join(map(repr, fields))}); "
                            f"its columns are: {', '.join(have)}. Name the text column(s) with --text-column "
                            "(repeat it for pairs, in the template's order)")
    columns, rename = _column_map(fields, text_columns)
    ds, rep = load_examples(args.input, text_columns=columns, dedupe=False)
    print(rep.summary(), file=sys.stderr)
    rows = _whole_pairs(_rows(ds, rename), fields, "input", lambda msg: print(msg, file=sys.stderr),
                        fate="no prediction")
    probs = clf.predict_proba(rows)
    # The file's own 'prediction' / 'confidence' columns are kept (as the app's Predict a file does).
    pred, conf = ("prediction", "confidence") if not {"prediction", "confidence"} & set(frame.columns) else \
        ("list_prediction", "list_confidence")
    frame[pred], frame[conf] = None, float("nan")
    positions = [int(r["id"]) for r in rows]
    frame.loc[positions, pred] = clf.classes_[probs.argmax(-1)]
    frame.loc[positions, conf] = probs.max(-1).astype("float64").round(6)  # float32 would print 16 digits
    write_table(frame, args.output)
    n, k = len(frame), len(positions)
    print(f"wrote {n} predictions to {args.output}" if k == n else
          f"wrote {n} rows to {args.output}, {k} with a prediction ({n - k} without text "
          f"{'has' if n - k == 1 else 'have'} none)", file=sys.stderr)
    return 0


def cmd_split(args: argparse.Namespace) -> int:
    from .config import ConfigError
    from .data import few_shot_split, read_table, write_table

    import pandas as pd

    if args.test_size >= 1 and not float(args.test_size).is_integer():
        raise ConfigError(f"--test-size {args.test_size:g} is neither a fraction (below 1, e.g. 0.5) nor a whole "
                          "number of rows (e.g. 500)")
    frame, _ = read_table(args.input)
    if args.label_column in frame.columns:  # 'pos ' is 'pos', as train reads it: not a class of its own taking K rows
        frame[args.label_column] = frame[args.label_column].astype(str).str.strip()
    # Rows without a label are no class: they join the unlabeled pool (a class '' would take K of them).
    blank = (frame[args.label_column] == "" if args.label_column in frame.columns
             else pd.Series(False, index=frame.index))
    test_size = int(args.test_size) if args.test_size >= 1 else args.test_size
    labeled, unlabeled, test = few_shot_split(frame[~blank].reset_index(drop=True), label_column=args.label_column,
                                              k=args.k, seed=args.seed, test_size=test_size)
    unlabeled = pd.concat([unlabeled, frame[blank]], ignore_index=True)
    out = Path(args.out)
    write_table(labeled, out / "labeled.csv")
    write_table(unlabeled.drop(columns=[args.label_column]), out / "unlabeled.csv")
    write_table(test, out / "test.csv")
    extra = f" ({int(blank.sum())} rows without a label are in the unlabeled pool)" if blank.any() else ""
    print(f"{len(labeled)} labeled, {len(unlabeled)} unlabeled, {len(test)} test rows in {out}{extra}",
          file=sys.stderr)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from .job import execute_run
    from .runs import RunDir

    try:
        execute_run(args.run, resume=args.resume)
    except Exception:  # noqa: BLE001 - recorded in status.json and train.log by execute_run
        return 1
    return 0 if RunDir(args.run).status().get("state") in ("done", "cancelled") else 1


def main(argv: Sequence[str] | None = None) -> int:
    from .config import ConfigError
    from .data import DataError
    from .modeling import ModelLoadError
    from .prompts import PromptError

    args = build_parser().parse_args(argv)
    handlers = {"train": cmd_train, "predict": cmd_predict, "split": cmd_split, "worker": cmd_worker}
    try:
        return handlers[args.verb](args)
    except (DataError, PromptError, ConfigError, ModelLoadError, FileExistsError, FileNotFoundError,
            ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - out of memory, disk full, ...: one line, never a traceback
        if os.environ.get("LIST_CORE_DEBUG"):
            raise
        from .job import _describe_failure

        log = Path(args.out) / "train.log" if args.verb == "train" else None
        where = f"; details in {log}" if log is not None and log.exists() else ""
        print(f"error: {_describe_failure(exc)}{where}".replace("\n", " "), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
