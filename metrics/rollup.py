"""A province's (or the nation's) store of its cities' results, and the roll-up that ranks cities and counties.

Each city is scored in its own working database, as one city always is (``metrics.scoring``). What a province
needs from it is written once per scored period as Parquet, partitioned the way every node can find it:

    <store>/cities/city=<city>/kind=<kind>/period=<period>/part-0.parquet     kind: KINDS
    <store>/rollup/level=city|county/period=<period>/part-0.parquet

``<store>`` is a local folder, an NFS mount, or an object store URL (``s3://bucket/prefix?endpoint_override=…``)
read and written through ``pyarrow.fs``: the same code for all three. A partition is one file with one fixed
name, so writing it again (a retried task) replaces it; nothing is appended.

The roll-up keeps the scheme's semantics for counties (``metrics.scoring.stage_scores``) one level up: a city's
scores are the means of its *ranked* departments' (rounded to 2 decimals), its grade is the scheme's grade of
that mean, ranks are by total with ties sharing a rank, and ``prev_total``/``prev_rank`` come from the previous
period of the same granularity when its partitions are in the store. Counties are ranked across the province
(``rank``) and within their city (``city_rank``, the city's own county rank).

A nation's store holds several provinces' cities: each city's scores then carry its ``province`` (from the
cities' folder layout, ``sgs.cluster.city_folders``), and cities and counties are ranked nationally (``rank``)
and within their province (``province_rank``), with ``prev_province_rank`` beside ``prev_rank``. Every figure is explainable down
to the finding: the city's partitions hold the scores, deductions and findings it came from.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from core.errors import InputError
from core.periods import Period
from core.vocab import INDICATORS, KINDS as RECORD_KINDS
from metrics.checks._sql import decided_in
from metrics.scheme import load_scheme
from metrics.scheme import scheme_path as scheme_path_for
from metrics.scoring import ScoringError, mean_sql

# what a city writes per period: its results, the records (by decision date) they were judged on, and what a
# province's dashboard shows beside a finding: the departments' names and the archived responses' index rows
RESULT_KINDS = ("scores", "county_scores", "deductions", "findings", "unverified")
SHOWN_KINDS = ("departments", "fetches")
KINDS = (*RESULT_KINDS, *(f"{k}_records" for k in RECORD_KINDS), *SHOWN_KINDS)
PART = "part-0.parquet"
LEVELS = ("city", "county")


class StoreUrlError(InputError, ValueError):
    """The province's store cannot be opened (a URL pyarrow does not understand)."""


def filesystem(store: str | Path) -> tuple[pafs.FileSystem, str]:
    """The store's filesystem and base path: a local folder (made absolute), else a URL pyarrow opens."""
    text = str(store)
    if "://" not in text:
        return pafs.LocalFileSystem(), Path(text).expanduser().resolve().as_posix()
    try:
        fs, base = pafs.FileSystem.from_uri(text)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
        raise StoreUrlError(f"无法打开全省数据存储 {text.split('?')[0]}（{exc}）：应为本地文件夹，或 "
                            "s3://桶/前缀?endpoint_override=主机:端口 这样的对象存储地址。") from exc
    return fs, base.rstrip("/")


def partition(base: str, city: str, kind: str, period: str) -> str:
    return f"{base}/cities/city={city}/kind={kind}/period={period}/{PART}"


def _write(fs: pafs.FileSystem, path: str, table: pa.Table) -> None:
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    pq.write_table(table, path, filesystem=fs)


# --- a city's partitions -----------------------------------------------------------------------------

def _kind_sql(kind: str, period: Period) -> str:
    """The rows of ``kind`` that belong to the period, in a fixed order (so a file's bytes do not depend on
    how the database happened to store them)."""
    if kind.endswith("_records"):
        rk = kind.removesuffix("_records")
        return f"SELECT * FROM {kind} r WHERE {decided_in(rk, period, 'r')} ORDER BY record_key, channel"
    if kind == "departments":  # names only: the liaison's phone is nobody's business in a province's store
        return "SELECT dept_id, name, county FROM departments ORDER BY dept_id"
    if kind == "fetches":  # the responses the period's findings and records cite (evidence: file#offset)
        cited = " UNION ".join(
            [f"SELECT {c} AS fetch_id FROM findings WHERE period = '{period.label}'" for c in ("fetch_id", "ref_fetch_id")]
            + [f"SELECT r.fetch_id FROM {k}_records r WHERE {decided_in(k, period, 'r')}" for k in RECORD_KINDS])
        return (f"SELECT fetch_id, fetched_at, warc_file, warc_offset FROM fetches WHERE fetch_id IN ({cited}) "
                "ORDER BY fetch_id")
    order = {"scores": "dept_id", "county_scores": "county", "deductions": "dept_id, indicator, rule_id",
             "findings": "ALL", "unverified": "ALL"}[kind]
    return f"SELECT * FROM {kind} WHERE period = '{period.label}' ORDER BY {order}"


PROVINCE_KINDS = ("scores", "county_scores")  # the kinds that carry a nation's city's province (the roll-up's)


def export_city(con: duckdb.DuckDBPyConnection, city: str, periods: Iterable[Period], store: str | Path,
                province: str | None = None) -> int:
    """Write the city's partitions of each period (every kind, an empty file where it has no rows, so a
    re-export never leaves an older file standing). Returns the number of files written.

    ``province``: the city's province in a nation's store (``sgs.cluster.city_folders``' layout), written as a
    last ``province`` column of its scores and county scores, which the roll-up ranks within. A province's own
    store has none: its partitions are the city's tables exactly, as before."""
    fs, base = filesystem(store)
    written = 0
    for period in periods:
        for kind in KINDS:
            table = con.sql(_kind_sql(kind, period)).to_arrow_table()
            if province is not None and kind in PROVINCE_KINDS:
                table = table.append_column("province", pa.array([province] * table.num_rows, pa.string()))
            _write(fs, partition(base, city, kind, period.label), table)
            written += 1
    return written


def has_scores(con: duckdb.DuckDBPyConnection, period: Period) -> bool:
    return bool(con.execute("SELECT count(*) FROM scores WHERE period = ?", [period.label]).fetchall()[0][0])


def cities(store: str | Path) -> list[str]:
    """The cities the store holds partitions of, sorted."""
    fs, base = filesystem(store)
    infos = fs.get_file_info(pafs.FileSelector(f"{base}/cities", allow_not_found=True))
    return sorted(i.base_name.removeprefix("city=") for i in infos
                  if i.type == pafs.FileType.Directory and i.base_name.startswith("city="))


def read_kind(store: str | Path, kind: str, period: str, only: Iterable[str] | None = None) -> pd.DataFrame:
    """One kind of one period for every city that has it, with a ``city`` column first."""
    fs, base = filesystem(store)
    frames = []
    for city in (list(only) if only is not None else cities(store)):
        path = partition(base, city, kind, period)
        if fs.get_file_info(path).type != pafs.FileType.File:
            continue
        frame = pq.read_table(path, filesystem=fs).to_pandas()
        frame.insert(0, "city", city)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["city"])


# --- the roll-up -------------------------------------------------------------------------------------

PROVINCE, NATION = "全省", "全国"  # a roll-up's level, as pages and documents name it


@dataclass(frozen=True)
class Rollup:
    """The province's rankings of one period: ``cities`` and ``counties``, ordered by rank."""

    period: str
    cities: pd.DataFrame
    counties: pd.DataFrame

    @property
    def level(self) -> str:
        """全国 when the cities come from several provinces (a nation's store, 全国/省/市), else 全省."""
        frame = self.cities
        return NATION if "province" in frame.columns and frame["province"].dropna().nunique() > 1 else PROVINCE


def _means() -> str:
    """The means of the ranked departments' figures, as a county's are (``metrics.scoring.mean_sql``)."""
    return ", ".join(f"{mean_sql(c)} AS {c}" for c in (*INDICATORS, "total"))


def _levels(con: duckdb.DuckDBPyConnection, grade: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """City and county rankings over the registered ``_ranked`` (ranked department scores with city and
    province): ``rank`` over the whole store, ``province_rank`` within the province (the same as ``rank`` in a
    province's own store, where ``province`` is NULL), and for counties ``city_rank`` within the city."""
    city = con.execute(f"""
        WITH c AS (SELECT city, count(*)::INTEGER AS n_departments, sum(n_records)::BIGINT AS n_records, {_means()},
                          any_value(scheme_version) AS scheme_version, any_value(province) AS province
                   FROM _ranked GROUP BY city)
        SELECT *, {grade} AS grade, RANK() OVER (ORDER BY total DESC)::INTEGER AS rank,
               RANK() OVER (PARTITION BY province ORDER BY total DESC)::INTEGER AS province_rank
        FROM c ORDER BY rank, city""").df()
    county = con.execute(f"""
        WITH c AS (SELECT city, county, count(*)::INTEGER AS n_departments, sum(n_records)::BIGINT AS n_records,
                          {_means()}, any_value(scheme_version) AS scheme_version, any_value(province) AS province
                   FROM _ranked GROUP BY city, county)
        SELECT *, {grade} AS grade, RANK() OVER (ORDER BY total DESC)::INTEGER AS rank,
               RANK() OVER (PARTITION BY city ORDER BY total DESC)::INTEGER AS city_rank,
               RANK() OVER (PARTITION BY province ORDER BY total DESC)::INTEGER AS province_rank
        FROM c ORDER BY rank, city, county""").df()
    return city, county


def _rank(store: str | Path, period: Period, grade: str, version: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    scores = read_kind(store, "scores", period.label)
    if scores.empty:
        return pd.DataFrame(), pd.DataFrame()
    ranked = scores[scores["standing"] == "ranked"]
    if version is not None:
        other = ranked[ranked["scheme_version"] != version]
        if not other.empty:
            names = "、".join(sorted(set(other["city"])))
            raise ScoringError(f"{names} 的 {period.label} 按评分方案 {', '.join(sorted(set(other['scheme_version'])))} "
                               f"评分，全省汇总用的是 {version}：请用同一评分方案重新为这些城市评分（sgs score --cities … --scheme …）。")
    province = ranked["province"] if "province" in ranked.columns else pd.Series(None, index=ranked.index)
    ranked = ranked.assign(province=province.astype(object).where(province.notna(), None).astype("string"))
    con = duckdb.connect()
    try:
        con.register("_ranked", ranked)
        return _levels(con, grade)
    finally:
        con.close()


def _with_previous(now: pd.DataFrame, before: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    if now.empty:
        return now
    names = {"total": "prev_total", "rank": "prev_rank", "province_rank": "prev_province_rank"}
    prev = (before[[*keys, *names]].rename(columns=names) if not before.empty
            else pd.DataFrame(columns=[*keys, *names.values()]))
    out = now.merge(prev, on=keys, how="left")
    out["prev_rank"] = out["prev_rank"].astype("Int32")
    out["prev_province_rank"] = out["prev_province_rank"].astype("Int32")
    out["prev_total"] = out["prev_total"].astype("Float64").astype("float64")
    return out


def rollup(store: str | Path, period: Period, scheme_path: str | Path | None = None, *, write: bool = True) -> Rollup:
    """Rank the store's cities and counties for ``period`` with its year's scheme (or ``scheme_path``), with the
    changes since the previous period; written under ``rollup/`` unless ``write`` is false.

    Raises ScoringError when a city was scored with another scheme version than the roll-up's (their grades
    and totals would not be comparable), InputError when no city has scores for the period."""
    scheme = load_scheme(scheme_path if scheme_path is not None else scheme_path_for(period))
    grade = scheme.grade_sql("total")
    city, county = _rank(store, period, grade, scheme.version)
    if city.empty:
        raise InputError(f"全省数据存储 {str(store).split('?')[0]} 中没有任何城市 {period.label} 的已排名得分："
                         "请先为各城市评分（sgs score --cities 城市文件夹 --period …）。")
    before_city, before_county = _rank(store, period.previous(), grade, None)
    result = Rollup(period.label, _with_previous(city, before_city, ["city"]),
                    _with_previous(county, before_county, ["city", "county"]))
    if write:
        fs, base = filesystem(store)
        for level, frame in zip(LEVELS, (result.cities, result.counties)):
            _write(fs, f"{base}/rollup/level={level}/period={period.label}/{PART}",
                   pa.Table.from_pandas(frame, preserve_index=False))
    return result


def periods(store: str | Path) -> list[str]:
    """The periods the store holds a city roll-up of (unsorted: callers order them as periods)."""
    fs, base = filesystem(store)
    infos = fs.get_file_info(pafs.FileSelector(f"{base}/rollup/level=city", allow_not_found=True))
    return [i.base_name.removeprefix("period=") for i in infos
            if i.type == pafs.FileType.Directory and i.base_name.startswith("period=")]


def stamp(store: str | Path) -> str:
    """What changes whenever a roll-up is written again (each roll-up file's name, size and time): a reader's
    cache key, so a new roll-up shows on the next look while an unchanged store is read once."""
    fs, base = filesystem(store)
    infos = fs.get_file_info(pafs.FileSelector(f"{base}/rollup", recursive=True, allow_not_found=True))
    return ";".join(sorted(f"{i.path}:{i.size}:{i.mtime_ns}" for i in infos if i.type == pafs.FileType.File))


def read_rollup(store: str | Path, period: str) -> Rollup:
    """A written roll-up, as ``rollup`` returned it (for reports and a province's dashboard)."""
    fs, base = filesystem(store)
    frames = [pq.read_table(f"{base}/rollup/level={level}/period={period}/{PART}", filesystem=fs).to_pandas()
              for level in LEVELS]
    return Rollup(period, frames[0], frames[1])
