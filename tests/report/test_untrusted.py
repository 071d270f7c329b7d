"""A run folder may have been edited or come from elsewhere: ``report`` follows no path out of it
(a record's ``finding_dir``, a symbolic link), and reads a finding's ``arrays.npz`` only up to a
size cap, so that a small file inflating to gigabytes costs a note, not the report."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from report_runs import buggy_entries, make_run, read_records, report_cli, strict_json

MARKER = "SNIPPET-OF-ANOTHER-FOLDER"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("pristine"), buggy_entries(), run_id="pristine")


@pytest.fixture
def folders(tmp_path: Path, pristine: Path) -> tuple[Path, Path]:
    """(the run folder to report on, another folder beside it whose findings hold :data:`MARKER`)."""
    run, other = tmp_path / "run", tmp_path / "other"
    shutil.copytree(pristine, run)
    shutil.copytree(pristine, other)
    for snippet in other.glob("findings/*/snippet.py"):
        snippet.write_text(f"print({MARKER!r})\n", encoding="utf-8")
    return run, other


def _rewrite(folder: Path, finding_dir: str) -> str:
    """Point the error finding's record at ``finding_dir``; returns its signature."""
    records = read_records(folder)
    target = next(r for r in records if r["minimal"] and r["outcome"] == "error")
    target["finding_dir"] = finding_dir
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return str(target["signature"])


@pytest.mark.parametrize(
    "rel",
    ["../other/findings/{name}", "{other}/findings/{name}", "findings/../../other/findings/{name}", "."],
)
def test_a_finding_dir_out_of_the_run_folder_is_not_followed(folders: tuple[Path, Path], rel: str) -> None:
    run, other = folders
    name = next(other.glob("findings/*-error")).name
    signature = _rewrite(run, rel.format(name=name, other=other))
    assert report_cli([str(run)]) == 1
    page = (run / "report.html").read_text(encoding="utf-8")
    assert MARKER not in page
    assert "leads out of" in page and "not followed" in page
    (finding,) = [f for f in strict_json(run / "summary.json")["findings"] if f["signature"] == signature]
    assert finding["finding_dir"] is None


def test_links_out_of_the_run_folder_are_not_followed(folders: tuple[Path, Path]) -> None:
    run, other = folders
    error = next(run.glob("findings/*-error"))
    (error / "snippet.py").unlink()
    (error / "snippet.py").symlink_to(next(other.glob("findings/*-error")) / "snippet.py")
    shape = next(run.glob("findings/*-shape_mismatch"))
    shutil.rmtree(shape)
    shape.symlink_to(next(other.glob("findings/*-shape_mismatch")), target_is_directory=True)
    value = next(run.glob("findings/*-value_mismatch"))
    (value / "arrays.npz").unlink()
    (value / "arrays.npz").symlink_to(next(other.glob("findings/*-value_mismatch")) / "arrays.npz")
    assert report_cli([str(run)]) == 1
    page = (run / "report.html").read_text(encoding="utf-8")
    assert MARKER not in page
    assert "arrays.npz links outside the finding&#39;s folder: not read" in page


def _value_arrays(folder: Path) -> Path:
    return next(folder.glob("findings/*-value_mismatch")) / "arrays.npz"


def test_an_npz_that_inflates_past_the_cap_is_not_loaded(folders: tuple[Path, Path]) -> None:
    run, _ = folders
    path = _value_arrays(run)
    big = np.zeros((1, 1, 2100, 2100))  # 35 MB of zeros: a few kilobytes compressed
    np.savez_compressed(path, actual=big, reference=big, bound=np.array(1.0))
    assert path.stat().st_size < 200_000
    assert report_cli([str(run)]) == 1
    page = (run / "report.html").read_text(encoding="utf-8")
    assert "actual is 35280128 bytes uncompressed, over the cap of 33554432 bytes" in page


def test_an_npz_header_claiming_terabytes_is_refused_before_any_allocation(
    folders: tuple[Path, Path],
) -> None:
    run, _ = folders
    path = _value_arrays(run)
    with zipfile.ZipFile(path, "w") as archive:
        with archive.open("actual.npy", "w") as member:
            header = {"descr": "<f8", "fortran_order": False, "shape": (1, 1, 10**6, 10**6)}
            np.lib.format.write_array_header_1_0(member, header)
            member.write(b"\0" * 64)
        for name in ("reference", "bound"):
            with archive.open(f"{name}.npy", "w") as member:
                np.lib.format.write_array(member, np.zeros((1, 1, 2, 2)))
    assert report_cli([str(run)]) == 1
    page = (run / "report.html").read_text(encoding="utf-8")
    assert "actual is (1, 1, 1000000, 1000000) float64" in page and "over the cap" in page


def test_a_finding_folder_inside_the_run_folder_is_still_read(pristine: Path) -> None:
    assert report_cli([str(pristine)]) == 1
    page = (pristine / "report.html").read_text(encoding="utf-8")
    assert "not followed" not in page and "conv_transpose(" in page and "<img" in page
    summary = strict_json(pristine / "summary.json")
    assert all(f["finding_dir"] for f in summary["findings"])
