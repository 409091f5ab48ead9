"""One MOTChallenge reader (datasets/formats/mot.py) for the import and for evaluate-tracks: rows parsed
at once, the layout told from the content, each caller's places in its messages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vru_desktop.datasets.formats.mot import MOT15, MOT16, RESULTS, read_mot_file, read_mot_table
from vru_desktop.errors import FormatError
from vru_desktop.evaluation.mot_files import evaluate_mot_files, read_mot_text

GT = "1,1,10,5,8,20,1,1,1\n1,2,30,6,8,20,1,1,0.4\n\n2,1,11,5,8,20,0,2,1\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_rows_keep_their_line_numbers_past_blank_lines(tmp_path: Path) -> None:
    table = read_mot_table(write(tmp_path / "gt.txt", GT))
    assert table.values.shape == (3, 9) and table.lines == [1, 2, 4]
    assert table.layout() is MOT16
    assert [
        (row.line, row.frame, row.track, row.cls, row.consider)
        for row in read_mot_file(tmp_path / "gt.txt").rows
    ] == [
        (1, 1, 1, 1, True),
        (2, 1, 2, 1, True),
        (4, 2, 1, 2, False),
    ]
    bad = write(tmp_path / "bad" / "gt.txt", GT.replace("2,1,11", "2,1,x"))
    with pytest.raises(FormatError, match=r"gt\.txt:4: x 'x' is not a number"):
        read_mot_file(bad)


def test_space_separated_files_import_as_comma_separated_ones(tmp_path: Path) -> None:
    commas = read_mot_file(write(tmp_path / "a" / "gt.txt", GT))
    spaces = read_mot_file(write(tmp_path / "b" / "gt.txt", GT.replace(",", " ")))
    assert spaces.layout is commas.layout is MOT16
    assert [dataclass_values(r) for r in spaces.rows] == [dataclass_values(r) for r in commas.rows]


def dataclass_values(row: object) -> tuple[object, ...]:
    return tuple(vars(row).values())


def test_evaluate_tracks_tells_the_ground_truth_layout_from_its_content(tmp_path: Path) -> None:
    results = write(tmp_path / "tr.txt", "1,5,10,5,8,20,0.9,-1,-1,-1\n2,5,11,5,8,20,0.8,-1,-1,-1\n")
    mot15 = write(tmp_path / "mot15.txt", "1,1,10,5,8,20,1,-4.2,1.5,0\n2,1,11,5,8,20,1,3,1.6,0\n")
    assert read_mot_table(mot15).layout() is MOT15
    assert evaluate_mot_files(mot15, results).benchmark == "MOT15"
    assert evaluate_mot_files(write(tmp_path / "mot17.txt", GT), results).benchmark == "MOT17"
    assert read_mot_table(results).layout() is RESULTS
    # 9 columns that are not MOT16/17/20 ground truth: refused, where they used to be read as such
    odd = write(tmp_path / "odd.txt", "1,1,10,5,8,20,1,1,1\n2,1,11,5,8,20,1,1,7\n")
    with pytest.raises(FormatError, match=r"row 2: visibility \(column 9\) is 7, not between 0 and 1"):
        evaluate_mot_files(odd, results)


def test_evaluate_tracks_reads_ragged_result_rows_and_names_lines_its_way(tmp_path: Path) -> None:
    ragged = write(tmp_path / "tr.txt", "1,5,10,5,8,20,0.9\n\n2,5,11,5,8,20,0.8,-1,-1,-1\n")
    table = read_mot_text(ragged, min_columns=7)
    assert table.shape == (2, 10) and np.isnan(table[0, 7:]).all() and table[1, 7] == -1
    with pytest.raises(FormatError, match=r"tr\.txt line 3 has 7 columns; at least 8 are needed"):
        read_mot_text(write(tmp_path / "tr.txt", "1,5,10,5,8,20,0.9,1\n\n2,5,11,5,8,20,0.8\n"), min_columns=8)
