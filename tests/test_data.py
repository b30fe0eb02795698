"""Tests for list_core.data: reading, cleaning, splitting and writing. All inputs are built in tmp_path."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from list_core.data import (
    MAX_TEXT_CHARS,
    SUPPORTED_FORMATS,
    DataError,
    LoadReport,
    dataset_to_frame,
    few_shot_split,
    load_examples,
    read_table,
    write_table,
)

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def write_csv_rows(path: Path, header: list[str], rows: list[list[str]], **kw) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, **kw)
        w.writerow(header)
        w.writerows(rows)
    return path


# ---------------------------------------------------------------------------------------------------- read_table


def test_read_csv_basic_types_are_strings(tmp_path):
    p = write(tmp_path, "a.csv", "text,label,score\nhello,1,0.5\nworld,0,\n")
    df, rep = read_table(p)
    assert list(df.columns) == ["text", "label", "score"]
    assert df["label"].tolist() == ["1", "0"]
    assert df["score"].tolist() == ["0.5", ""]  # NaN -> ""
    assert all(isinstance(v, str) for v in df.to_numpy().ravel())
    assert (rep.source, rep.format, rep.encoding, rep.rows_read, rep.rows_kept, rep.bad_rows) == ("a.csv", "csv", "utf-8", 2, 2, 0)


def test_read_csv_na_strings_are_kept_verbatim(tmp_path):
    p = write(tmp_path, "a.csv", "text,label\nNA,null\nNone,N/A\n")
    df, _ = read_table(p)
    assert df["text"].tolist() == ["NA", "None"]
    assert df["label"].tolist() == ["null", "N/A"]


def test_quoted_newlines_and_ragged_rows(tmp_path):
    p = write(tmp_path, "r.csv", 'text,label\n"multi\nline, with comma",a\ntoo,many,fields\nshort\nok,b\n')
    df, rep = read_table(p)
    assert df["text"].tolist() == ["multi\nline, with comma", "ok"]
    assert rep.bad_rows == 2 and rep.rows_read == 4 and rep.rows_kept == 2
    assert any("malformed" in w for w in rep.warnings)


def test_stray_quote_costs_one_row_not_the_rest(tmp_path):
    p = write(tmp_path, "q.csv", 'text,label\n"unterminated,a\nsecond,b\nthird,c\n')
    df, rep = read_table(p)
    assert df["text"].tolist() == ["second", "third"]
    assert rep.bad_rows == 1


def test_fields_over_the_csv_modules_limit_are_read_not_a_crash(tmp_path):
    # csv refuses a field over 131,072 characters (csv.Error, a traceback in the app): a long document, and the rest
    # of a big file swallowed by a stray quote, which must still cost one row only.
    big = write(tmp_path, "q.csv", 'text,label\n"unterminated,a\n' + "".join(f"row number {i} of many,b\n" for i in range(8000)))
    df, rep = read_table(big)
    assert len(df) == 8000 and rep.bad_rows == 1 and df["text"].iloc[0] == "row number 0 of many"
    doc = write(tmp_path, "d.tsv", "text\tlabel\n" + "word " * 40000 + "\tpos\nshort\tneg\n")
    ds, rep = load_examples(doc, label_column="label")
    assert ds["label"] == ["pos", "neg"] and len(ds["text"][0]) == MAX_TEXT_CHARS and rep.truncated == 1


def test_excel_sep_line_gives_the_separator(tmp_path):
    p = write(tmp_path, "x.csv", "\ufeffsep=;\r\ntext;score;label\r\nbon film;0,5;pos\r\nmauvais;1,25;neg\r\n")
    df, rep = read_table(p)
    assert list(df.columns) == ["text", "score", "label"]
    assert df.to_numpy().tolist() == [["bon film", "0,5", "pos"], ["mauvais", "1,25", "neg"]]
    assert rep.bad_rows == 0


def test_tsv_and_tab_extension(tmp_path):
    for name in ("a.tsv", "a.tab"):
        p = write(tmp_path, name, "text\tlabel\nhello, there\tpos\n")
        df, rep = read_table(p)
        assert rep.format == "tsv"
        assert df.iloc[0].tolist() == ["hello, there", "pos"]


def test_semicolon_csv_is_detected_with_warning(tmp_path):
    p = write(tmp_path, "semi.csv", "text;label\nbonjour;pos\n")
    df, rep = read_table(p)
    assert df.iloc[0].tolist() == ["bonjour", "pos"]
    assert any("separator" in w for w in rep.warnings)


def test_jsonl_and_ndjson(tmp_path):
    lines = [{"text": "a", "label": 1}, {"text": "b", "label": "x", "extra": True}, "not an object", {"text": None}]
    body = "\n".join(json.dumps(x) for x in lines[:2]) + "\n{broken\n\n" + json.dumps(lines[3]) + "\n"
    for name in ("a.jsonl", "a.ndjson"):
        df, rep = read_table(write(tmp_path, name, body))
        assert rep.format == "jsonl"
        assert list(df.columns) == ["text", "label", "extra"]
        assert df["label"].tolist() == ["1", "x", ""]
        assert df["extra"].tolist() == ["", "true", ""]
        assert df["text"].tolist() == ["a", "b", ""]
        assert rep.bad_rows == 1 and rep.rows_read == 4


@pytest.mark.parametrize(
    "payload",
    [
        [{"text": "a", "label": 0}, {"text": "b", "label": 1}],
        {"text": ["a", "b"], "label": [0, 1]},
        {"data": [{"text": "a", "label": 0}, {"text": "b", "label": 1}]},
    ],
)
def test_json_shapes(tmp_path, payload):
    df, rep = read_table(write(tmp_path, "a.json", json.dumps(payload)))
    assert df[["text", "label"]].to_numpy().tolist() == [["a", "0"], ["b", "1"]]
    assert rep.format == "json"


@pytest.mark.parametrize("orient", [None, "columns", "index", "split", "table"])
def test_json_written_by_pandas_to_json(tmp_path, orient):
    # DataFrame.to_json's default (orient='columns') and the other table shapes used to be read as ONE row of JSON.
    frame = pd.DataFrame({"text": ["good movie", "bad film", "fine"], "label": ["pos", "neg", "pos"]})
    p = tmp_path / "a.json"
    frame.to_json(p, **({"orient": orient} if orient else {}))
    df, rep = read_table(p)
    assert df[["text", "label"]].to_numpy().tolist() == frame.to_numpy().tolist()
    assert rep.rows_read == 3


def test_json_file_holding_json_lines(tmp_path):
    df, _ = read_table(write(tmp_path, "a.json", '{"text": "a"}\n{"text": "b"}\n'))
    assert df["text"].tolist() == ["a", "b"]


def test_parquet_roundtrip_with_ints_and_nulls(tmp_path):
    p = tmp_path / "a.parquet"
    pd.DataFrame({"text": ["x", None, "z"], "label": pd.array([1, None, 3], dtype="Int64")}).to_parquet(p)
    df, rep = read_table(p)
    assert df["text"].tolist() == ["x", "", "z"]
    assert df["label"].tolist() == ["1", "", "3"]
    assert rep.format == "parquet"
    df2, _ = read_table(p, fmt="pq")
    assert df2.equals(df)


def test_txt_one_example_per_line(tmp_path):
    p = write(tmp_path, "a.txt", "first line\r\nsecond, with comma\n\nfourth\n\n")
    df, rep = read_table(p)
    assert list(df.columns) == ["text"]
    assert df["text"].tolist() == ["first line", "second, with comma", "", "fourth"]
    ds, rep = load_examples(p)
    assert ds["text"] == ["first line", "second, with comma", "fourth"]
    assert ds["id"] == [0, 1, 3]
    assert rep.empty == 1


def test_file_like_upload_with_name():
    buf = io.BytesIO("text,label\nhé,1\n".encode("utf-8"))
    df, rep = read_table(buf, name="upload.csv")
    assert rep.source == "upload.csv"
    assert df["text"].tolist() == ["hé"]


def test_fmt_overrides_extension(tmp_path):
    p = write(tmp_path, "data.dat", '{"text": "a"}\n')
    df, rep = read_table(p, fmt="jsonl")
    assert rep.format == "jsonl" and df["text"].tolist() == ["a"]


# ---------------------------------------------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    "encoding,bom,expected",
    [
        ("utf-8", b"\xef\xbb\xbf", "utf-8-sig"),
        ("utf-16-le", b"\xff\xfe", "utf-16"),
        ("utf-16-be", b"\xfe\xff", "utf-16"),
        ("utf-32-le", b"\xff\xfe\x00\x00", "utf-32"),
    ],
)
def test_bom_encodings(tmp_path, encoding, bom, expected):
    p = write(tmp_path, "b.csv", bom + "text,label\nnaïve 日本 🙂,1\n".encode(encoding))
    df, rep = read_table(p)
    assert list(df.columns) == ["text", "label"]
    assert df["text"].tolist() == ["naïve 日本 🙂"]
    assert rep.encoding == expected
    assert rep.warnings == []


def test_cp1252_fallback_warns(tmp_path):
    p = write(tmp_path, "w.csv", "text,label\n“smart quotes” café,1\n".encode("cp1252"))
    df, rep = read_table(p)
    assert df["text"].tolist() == ["“smart quotes” café"]
    assert rep.encoding == "cp1252"
    assert any("cp1252" in w and "UTF-8" in w for w in rep.warnings)


def test_latin1_last_resort(tmp_path):
    # 0x81 is undefined in cp1252, so only latin-1 can decode this.
    p = write(tmp_path, "l.csv", b"text,label\nabc\x81\xe9,1\n")
    df, rep = read_table(p)
    assert rep.encoding == "latin-1"
    assert df["text"].tolist() == ["abc\x81é"]


def test_bomless_utf16_is_detected(tmp_path):
    p = write(tmp_path, "u.csv", "text,label\nhello,1\n".encode("utf-16-le"))
    df, rep = read_table(p)
    assert df["text"].tolist() == ["hello"] and rep.encoding == "utf-16-le"


# ---------------------------------------------------------------------------------------------------- read errors


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_table(tmp_path / "nope.csv")


@pytest.mark.parametrize("content", [b"", b"   \n\t\n"])
def test_empty_file(tmp_path, content):
    with pytest.raises(DataError, match="is empty"):
        read_table(write(tmp_path, "e.csv", content))


def test_header_only(tmp_path):
    with pytest.raises(DataError, match="no data rows"):
        read_table(write(tmp_path, "h.csv", "text,label\n"))


def test_all_rows_bad(tmp_path):
    with pytest.raises(DataError, match="could be parsed"):
        read_table(write(tmp_path, "b.csv", "a,b\n1,2,3\n4,5,6\n"))


def test_unsupported_extension_lists_formats(tmp_path):
    with pytest.raises(DataError) as exc:
        read_table(write(tmp_path, "x.xlsx", "whatever"))
    for fmt in SUPPORTED_FORMATS:
        assert fmt in str(exc.value)


def test_parquet_that_is_text(tmp_path):
    with pytest.raises(DataError, match="Parquet"):
        read_table(write(tmp_path, "fake.parquet", "text,label\na,1\n"))


def test_json_that_does_not_parse(tmp_path):
    with pytest.raises(DataError, match="not valid JSON"):
        read_table(write(tmp_path, "bad.json", "{this is not json"))
    with pytest.raises(DataError, match="JSON Lines"):
        read_table(write(tmp_path, "bad.jsonl", "nope\nstill nope\n"))


def test_parquet_bytes_in_csv(tmp_path):
    src = tmp_path / "real.parquet"
    pd.DataFrame({"text": ["a"]}).to_parquet(src)
    with pytest.raises(DataError, match="Parquet"):
        read_table(write(tmp_path, "renamed.csv", src.read_bytes()))


@pytest.mark.parametrize("ext", ["csv", "jsonl", "txt", "json"])
def test_max_rows(tmp_path, ext):
    rows = [f"row {i}" for i in range(11)]
    if ext == "csv":
        body = "text\n" + "\n".join(rows) + "\n"
    elif ext == "jsonl":
        body = "\n".join(json.dumps({"text": r}) for r in rows)
    elif ext == "json":
        body = json.dumps([{"text": r} for r in rows])
    else:
        body = "\n".join(rows)
    p = write(tmp_path, f"big.{ext}", body)
    assert len(read_table(p, max_rows=11)[0]) == 11
    with pytest.raises(DataError, match="more than 10 rows"):
        read_table(p, max_rows=10)


def test_max_rows_parquet(tmp_path):
    p = tmp_path / "big.parquet"
    pd.DataFrame({"text": [str(i) for i in range(5)]}).to_parquet(p)
    with pytest.raises(DataError, match="more than 4 rows"):
        read_table(p, max_rows=4)


# ---------------------------------------------------------------------------------------------------- load_examples


def test_load_examples_cleaning_counts(tmp_path):
    p = write(
        tmp_path,
        "c.csv",
        "text,label\n"
        "  good one  ,pos\n"  # 0 kept (stripped)
        "   ,pos\n"  # 1 empty
        "good one,neg\n"  # 2 duplicate of 0 (after strip), conflicting label
        "other, text,neg\n"  # 3 ragged -> bad
        "third,maybe\n"  # 4 unknown label
        "fourth,\n"  # 5 missing label
        "fifth, neg \n",  # 6 kept, label stripped
    )
    ds, rep = load_examples(p, label_column="label", labels=["pos", "neg"])
    assert ds.column_names == ["id", "text", "label"]
    assert ds["text"] == ["good one", "fifth"]
    assert ds["label"] == ["pos", "neg"]
    assert ds["id"] == [0, 5]  # positions in the read frame (the ragged row is not in it)
    assert (rep.rows_read, rep.rows_kept, rep.empty, rep.duplicates, rep.unknown_label, rep.bad_rows) == (7, 2, 1, 1, 2, 1)
    assert any("different labels" in w for w in rep.warnings)
    s = rep.summary()
    assert s.startswith("c.csv: 7 rows read, 2 kept (1 empty, 1 duplicate, 2 unknown label, 1 bad)")
    assert "\n" not in s
    assert isinstance(rep, LoadReport) and rep.to_dict()["rows_kept"] == 2


def test_int_labels_become_strings(tmp_path):
    p = tmp_path / "i.parquet"
    pd.DataFrame({"text": ["a", "b", "c"], "label": [0, 1, 1]}).to_parquet(p)
    ds, rep = load_examples(p, label_column="label", labels=[0, 1])
    assert ds["label"] == ["0", "1", "1"]
    assert rep.unknown_label == 0


def test_no_dedupe(tmp_path):
    p = write(tmp_path, "d.csv", "text,label\na,1\na,1\n")
    ds, rep = load_examples(p, label_column="label", dedupe=False)
    assert len(ds) == 2 and rep.duplicates == 0


def test_multi_text_columns_dedupe_on_all(tmp_path):
    p = write(tmp_path, "pair.csv", "premise,hypothesis,label\nA,B,e\nA,C,n\nA,B,c\n")
    ds, rep = load_examples(p, text_columns=["premise", "hypothesis"], label_column="label")
    assert ds.column_names == ["id", "premise", "hypothesis", "label"]
    assert len(ds) == 2 and rep.duplicates == 1


def test_text_column_default_single_string_column(tmp_path):
    p = write(tmp_path, "s.csv", "sentence,label,year\nhello there,pos,1999\nbye now,neg,2001\n")
    ds, _ = load_examples(p, label_column="label")
    assert ds.column_names == ["id", "sentence", "label"]


def test_text_column_ambiguous(tmp_path):
    p = write(tmp_path, "amb.csv", "sentence,label,source\nhello,pos,amazon\n")
    with pytest.raises(DataError, match="--text-column") as exc:
        load_examples(p, label_column="label")
    assert "sentence, label, source" in str(exc.value)


def test_missing_named_columns(tmp_path):
    p = write(tmp_path, "m.csv", "text,Label\nhello,pos\n")
    with pytest.raises(DataError, match=r"label column 'label' not found; columns are: text, Label") as exc:
        load_examples(p, label_column="label")
    assert "did you mean 'Label'" in str(exc.value)
    with pytest.raises(DataError, match="text column 'body' not found"):
        load_examples(p, text_columns=["body"])


def test_all_labels_unknown(tmp_path):
    p = write(tmp_path, "u.csv", "text,label\na,x\nb,y\n")
    with pytest.raises(DataError) as exc:
        load_examples(p, label_column="label", labels=["pos", "neg"])
    msg = str(exc.value)
    assert "pos, neg" in msg and "'x'" in msg


def test_all_labels_unknown_names_a_flag_the_cli_has(tmp_path):
    # The labels come from train's --verbalizer; the message used to say 'fix --labels', a flag that does not exist.
    p = write(tmp_path, "f.csv", "text,label\ngreat,1.0\nawful,0.0\n")  # pandas writes a float column so
    with pytest.raises(DataError) as exc:
        load_examples(p, label_column="label", labels=["0", "1"])
    msg = str(exc.value)
    assert "--labels" not in msg and "--verbalizer" in msg and "'1.0' is not '1'" in msg


def test_no_rows_remain(tmp_path):
    p = write(tmp_path, "n.csv", "text,label\n ,a\n\t,b\n")
    with pytest.raises(DataError, match="no usable rows.*2 empty"):
        load_examples(p, label_column="label")


def test_label_warnings(tmp_path):
    p = write(tmp_path, "w.csv", "text,label\na,Pos\nb,pos\nc,neg\n")
    _, rep = load_examples(p, label_column="label")
    assert any("'Pos' and 'pos' differ only in case" in w for w in rep.warnings)
    p = write(tmp_path, "one.csv", "text,label\na,pos\nb,pos\n")
    _, rep = load_examples(p, label_column="label")
    assert any("only one class" in w for w in rep.warnings)


def test_truncation(tmp_path):
    long = "x" * (MAX_TEXT_CHARS + 10)
    p = write(tmp_path, "t.csv", f"text,label\n{long},1\nshort,0\n")
    ds, rep = load_examples(p, label_column="label")
    assert len(ds["text"][0]) == MAX_TEXT_CHARS
    assert rep.truncated == 1
    assert "truncated" in rep.summary()


def test_long_texts_that_differ_past_the_limit_are_not_duplicates(tmp_path):
    long = "word " * (MAX_TEXT_CHARS // 4)
    p = write(tmp_path, "t.csv", f"text,label\n{long},a\n{long}x,b\n{long},a\n")
    ds, rep = load_examples(p, label_column="label")
    assert ds["label"] == ["a", "b"]  # the exact repeat is the one duplicate; the second text is its own row
    assert (rep.duplicates, rep.truncated, rep.warnings) == (1, 2, [])


def test_dataset_to_frame(tmp_path):
    p = write(tmp_path, "f.csv", "text,label\na,1\nb,0\n")
    ds, _ = load_examples(p, label_column="label")
    df = dataset_to_frame(ds)
    assert list(df.columns) == ["id", "text", "label"] and len(df) == 2


# ---------------------------------------------------------------------------------------------------- few_shot_split


def make_frame(per_class: dict[str, int]) -> pd.DataFrame:
    rows = [(f"{c} {i}", c) for c, n in per_class.items() for i in range(n)]
    return pd.DataFrame({"id": range(len(rows)), "text": [r[0] for r in rows], "label": [r[1] for r in rows]})


def test_few_shot_split_shapes_and_disjoint():
    df = make_frame({"a": 40, "b": 60})
    lab, unl, test = few_shot_split(df, k=5, seed=0)
    assert len(test) == 50 and len(lab) == 10 and len(unl) == 40
    assert lab["label"].value_counts().to_dict() == {"a": 5, "b": 5}
    assert test["label"].value_counts().to_dict() == {"a": 20, "b": 30}  # stratified
    ids = [set(x["id"]) for x in (lab, unl, test)]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    assert set().union(*ids) == set(df["id"])
    assert "label" in unl.columns


def test_test_split_fixed_across_seeds_labeled_varies():
    df = make_frame({"a": 50, "b": 50, "c": 50})
    splits = [few_shot_split(df, k=4, seed=s, test_size=30) for s in range(5)]
    tests = [tuple(sorted(t["id"])) for _, _, t in splits]
    assert len(set(tests)) == 1 and len(tests[0]) == 30
    labs = [tuple(sorted(lab["id"])) for lab, _, _ in splits]
    assert len(set(labs)) > 1
    again = few_shot_split(df, k=4, seed=3, test_size=30)
    assert again[0].equals(splits[3][0])


def test_few_shot_split_fraction_and_errors():
    df = make_frame({"a": 10, "b": 10})
    _, _, test = few_shot_split(df, k=2, seed=1, test_size=0.2)
    assert len(test) == 4
    with pytest.raises(DataError, match="k=6"):
        few_shot_split(df, k=6, seed=1)  # 5 non-test rows per class
    with pytest.raises(DataError, match="test_size"):
        few_shot_split(df, k=1, seed=1, test_size=1.5)
    with pytest.raises(DataError, match="not found"):
        few_shot_split(df, label_column="y", k=1, seed=1)


# ---------------------------------------------------------------------------------------------------- write_table


@pytest.mark.parametrize("ext", ["csv", "tsv", "jsonl", "parquet", "json"])
def test_write_table_roundtrip(tmp_path, ext):
    df = pd.DataFrame({"text": ['a, "quoted"\nline', "é🙂\r日本", ""], "label": ["1", "0", "1"]})
    out = write_table(df, tmp_path / "sub" / f"out.{ext}")
    back, _ = read_table(out)
    assert back.to_numpy().tolist() == df.to_numpy().tolist()
    assert [p.name for p in out.parent.iterdir()] == [f"out.{ext}"]  # no temp file left behind


def test_write_table_is_atomic_on_failure(tmp_path, monkeypatch):
    target = write(tmp_path, "keep.csv", "text\nold\n")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_table(pd.DataFrame({"text": ["new"]}), target)
    assert target.read_text() == "text\nold\n"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.csv"]


def test_write_table_rejects_unknown_extension(tmp_path):
    with pytest.raises(DataError, match=".csv"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "x.xlsx")


# ---------------------------------------------------------------------------------------------------- properties

# Any text except lone surrogates (not encodable) and NUL; includes emoji, CJK, RTL, quotes, commas, \r and \n.
any_text = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        st.sampled_from(list('",\'\n\r\t;🙂日本語עבריתمرحبا\u200f\u2028\ufeff ')),
    ),
    max_size=40,
)


@FAST
@given(texts=st.lists(any_text, min_size=1, max_size=8), ensure_ascii=st.booleans())
def test_property_jsonl_roundtrip(tmp_path, texts, ensure_ascii):
    body = "".join(json.dumps({"text": t, "label": i}, ensure_ascii=ensure_ascii) + "\n" for i, t in enumerate(texts))
    df, rep = read_table(write(tmp_path, "p.jsonl", body))
    assert df["text"].tolist() == texts
    assert df["label"].tolist() == [str(i) for i in range(len(texts))]
    assert rep.bad_rows == 0


@FAST
@given(texts=st.lists(any_text, min_size=1, max_size=8), crlf=st.booleans())
def test_property_csv_roundtrip(tmp_path, texts, crlf):
    # Python's csv writer with "\r\n" quotes any field holding \r or \n, as Excel and pandas do.
    path = write_csv_rows(tmp_path / "p.csv", ["text", "label"], [[t, str(i)] for i, t in enumerate(texts)],
                          lineterminator="\r\n" if crlf else "\n", quoting=csv.QUOTE_ALL if not crlf else csv.QUOTE_MINIMAL)
    df, rep = read_table(path)
    assert df["text"].tolist() == texts
    assert rep.bad_rows == 0 and rep.rows_read == len(texts)


@FAST
@given(texts=st.lists(any_text, min_size=1, max_size=8))
def test_property_write_table_csv_roundtrip(tmp_path, texts):
    df = pd.DataFrame({"text": texts, "label": ["x"] * len(texts)})
    back, _ = read_table(write_table(df, tmp_path / "w.csv"))
    assert back["text"].tolist() == texts


row_strategy = st.tuples(
    st.sampled_from(["a", " a", "b ", "  ", "", "c", "d, e", "é", "🙂", "x\ny"]),
    st.sampled_from(["pos", "neg", " pos ", "", "other", "1"]),
    st.booleans(),  # True -> write this row ragged (an extra field)
)


@FAST
@given(rows=st.lists(row_strategy, min_size=1, max_size=25), restrict=st.booleans(), dedupe=st.booleans())
def test_property_cleaning_counts_add_up(tmp_path, rows, restrict, dedupe):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["text", "label"])
    for text, label, ragged in rows:
        w.writerow([text, label, "extra"] if ragged else [text, label])
    path = write(tmp_path, "c.csv", buf.getvalue())
    labels = ["pos", "neg"] if restrict else None

    # Reference model of the cleaning rules.
    good = [(t.strip(), l.strip()) for t, l, ragged in rows if not ragged]
    exp = dict(bad=sum(r[2] for r in rows), empty=0, unknown=0, dup=0, kept=[])
    seen = set()
    for t, l in good:
        if not t:
            exp["empty"] += 1
        elif not l or (labels and l not in labels):
            exp["unknown"] += 1
        elif dedupe and t in seen:
            exp["dup"] += 1
        else:
            seen.add(t)
            exp["kept"].append((t, l))

    if not exp["kept"]:
        with pytest.raises(DataError):
            load_examples(path, label_column="label", labels=labels, dedupe=dedupe)
        return
    ds, rep = load_examples(path, label_column="label", labels=labels, dedupe=dedupe)
    assert rep.rows_kept + rep.empty + rep.duplicates + rep.unknown_label + rep.bad_rows == rep.rows_read == len(rows)
    assert rep.rows_kept == len(ds)
    assert (rep.bad_rows, rep.empty, rep.unknown_label, rep.duplicates) == (exp["bad"], exp["empty"], exp["unknown"], exp["dup"])
    assert list(zip(ds["text"], ds["label"])) == exp["kept"]
    assert ds["id"] == sorted(ds["id"])


@FAST
@given(sizes=st.dictionaries(st.sampled_from(list("abcde")), st.integers(6, 30), min_size=1, max_size=4),
       k=st.integers(1, 3), seed=st.integers(0, 2**32 - 1), frac=st.sampled_from([0.2, 0.5]))
def test_property_split_partitions(sizes, k, seed, frac):
    df = make_frame(sizes)
    lab, unl, test = few_shot_split(df, k=k, seed=seed, test_size=frac)
    assert len(lab) + len(unl) + len(test) == len(df)
    assert sorted(pd.concat([lab, unl, test])["id"]) == list(range(len(df)))
    assert (lab["label"].value_counts() == k).all() and set(lab["label"]) == set(sizes)
    _, _, test2 = few_shot_split(df, k=1, seed=seed + 1, test_size=frac)
    assert test2["id"].tolist() == test["id"].tolist()


def test_unknown_label_near_miss_warns(tmp_path):
    p = write(tmp_path, "n.csv", "text,label\na,Pos\nb,neg\nc,pos\n")
    ds, rep = load_examples(p, label_column="label", labels=["pos", "neg"])
    assert rep.unknown_label == 1 and len(ds) == 2
    assert any("'Pos'" in w and "'pos'" in w for w in rep.warnings)


def test_text_column_default_ignores_label_named_column(tmp_path):
    p = write(tmp_path, "u.csv", "sentence,label\nhello,pos\n")
    ds, _ = load_examples(p)
    assert ds.column_names == ["id", "sentence"]


def test_quotes_that_do_not_enclose_a_field_are_kept_as_text(tmp_path):
    """A hand-written CSV row `"Inception" is a masterpiece,pos`: the csv module reads the text as
    `Inception is a masterpiece`, silently altering the user's text. The quotes are now kept, in CSV and TSV;
    fields quoted the RFC 4180 way still lose their enclosing quotes."""
    p = write(tmp_path, "q.csv", 'text,label\r\n"Inception" is a masterpiece,pos\r\n"a, b",neg\r\n'
                                 'say "hi" now,pos\r\n"He said ""no""",neg\r\n')
    df, report = read_table(p)
    assert df["text"].tolist() == ['"Inception" is a masterpiece', "a, b", 'say "hi" now', 'He said "no"']
    assert df["label"].tolist() == ["pos", "neg", "pos", "neg"] and report.bad_rows == 0
    t = write(tmp_path, "q.tsv", 'text\tlabel\n"Inception" is a masterpiece\tpos\nplain\tneg\n')
    assert read_table(t)[0]["text"].tolist() == ['"Inception" is a masterpiece', "plain"]


@FAST
@given(st.lists(st.lists(st.text(alphabet=st.sampled_from(list('ab ",;\t\'')), max_size=8), min_size=2, max_size=2),
                min_size=1, max_size=6))
def test_rows_written_by_the_csv_module_read_back_unchanged(tmp_path, rows):
    """The literal-quote reading changes nothing on a line that RFC 4180 allows: what csv.writer writes (quoting
    fields with quotes or separators, doubling inner quotes) reads back field for field."""
    rows = [r for r in rows if any(f.strip() for f in r)]
    if not rows:
        return
    p = write_csv_rows(tmp_path / "w.csv", ["a", "b"], rows)
    assert read_table(p)[0].values.tolist() == rows


def test_trailing_empty_fields_do_not_make_a_row_malformed(tmp_path):
    """`foo bar,pos,` (a stray separator at the end of a hand-edited row) was dropped as malformed."""
    p = write(tmp_path, "t.csv", "text,label\nfoo bar,pos,\nbaz,neg\nqux,pos,,\nbad,neg,extra\n")
    df, report = read_table(p)
    assert df.values.tolist() == [["foo bar", "pos"], ["baz", "neg"], ["qux", "pos"]] and report.bad_rows == 1


def test_a_one_column_csv_keeps_texts_that_hold_commas(tmp_path):
    """A one-column CSV written without quotes ('review', then 'Great product, would buy again') lost every text
    with a comma as a row of too many fields. With one column, a line is one text."""
    p = write(tmp_path, "o.csv", 'review\nGreat product, would buy again\nTerrible\nOk, but slow, and noisy\n"a, b"\n')
    df, report = read_table(p)
    assert df["review"].tolist() == ["Great product, would buy again", "Terrible", "Ok, but slow, and noisy", "a, b"]
    assert report.bad_rows == 0


def test_a_semicolon_file_whose_header_holds_a_comma_is_split_on_semicolons(tmp_path):
    """'Kommentar, frei;Bewertung': the header's comma made the reader split on commas and skip every row."""
    p = write(tmp_path, "s.csv", "Kommentar, frei;Bewertung\r\nSehr gut;1\r\nSchlecht, leider;0\r\nOk;1\r\n")
    df, report = read_table(p)
    assert list(df.columns) == ["Kommentar, frei", "Bewertung"]
    assert df["Kommentar, frei"].tolist() == ["Sehr gut", "Schlecht, leider", "Ok"] and report.bad_rows == 0
    assert any("';'" in w for w in report.warnings)
    plain = write(tmp_path, "p.csv", "text,label\nfine; really,pos\nok,neg\n")  # a semicolon in a text: still commas
    assert read_table(plain)[0].values.tolist() == [["fine; really", "pos"], ["ok", "neg"]]


def test_json_arrays_under_a_header_array_are_rows_and_bad_json_says_where(tmp_path):
    """[["text","label"],["great stuff","pos"]] (a spreadsheet's JSON export) was refused with CSV words
    ('check the separator, quoting'); it is a table. Broken JSON says the line and column of the fault."""
    p = write(tmp_path, "a.json", '[["text","label"],["great stuff","pos"],["awful","neg"],["short"]]')
    df, report = read_table(p)
    assert df.values.tolist() == [["great stuff", "pos"], ["awful", "neg"]] and report.bad_rows == 1
    assert "wrong length" in report.warnings[0] and "quoting" not in report.warnings[0]
    broken = write(tmp_path, "b.json", '[\n {"text": "a", "label": "pos"},\n {"text": "b" "label": "neg"}\n]')
    with pytest.raises(DataError, match="line 3, column 15"):
        read_table(broken)
    numbers = write(tmp_path, "n.json", "[1, 2, 3]")
    with pytest.raises(DataError, match="JSON object") as err:
        read_table(numbers)
    assert "separator" not in str(err.value)
    jl = write(tmp_path, "c.jsonl", '{"text": "a"}\n{"text": "b"\n')
    assert "not valid JSON" in read_table(jl)[1].warnings[0]


def test_nested_json_objects_are_flattened_to_dotted_columns(tmp_path):
    """{"review": {"body": ..., "title": ...}} was one column 'review' of JSON text, no text to classify."""
    rows = [{"review": {"body": "great stuff", "meta": {"lang": "en"}}, "stars": 5, "tags": ["a"]},
            {"review": {"body": "awful"}, "stars": 1, "empty": {}},
            {"review": None, "stars": None}]
    for name, content in (("n.json", json.dumps(rows)), ("n.jsonl", "\n".join(json.dumps(r) for r in rows))):
        df, _ = read_table(write(tmp_path, name, content))
        assert list(df.columns) == ["review.body", "review.meta.lang", "stars", "tags", "empty", "review"]
        assert df["review.body"].tolist() == ["great stuff", "awful", ""]
        assert df["tags"].tolist() == ['["a"]', "", ""] and df["empty"].tolist() == ["", "{}", ""]
        typed, _ = read_table(write(tmp_path, name, content), keep_types=True)  # written back as it was
        assert typed["stars"].tolist()[:2] == [5, 1] and typed["review"].tolist()[0] == rows[0]["review"]
