"""A second implementation of the flow and sprint metrics, for the tests only.

Written from METRICS.md in a different style from the engine: pandas frames of
change rows, intervals ``[at, next_at)``, as-of joins (``merge_asof``) and
cross joins against a grid of end-of-day instants, instead of the engine's
per-story timelines, bisection and difference arrays. It shares nothing with
``sprintboard`` but the input records.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd

from sprintboard.records import Event, Sprint, State, Story

FAR = pd.Timestamp("2100-01-01", tz="UTC")
UNIT = "datetime64[us, UTC]"
NONE = -1  # "no sprint" / "no points" in integer-typed columns


class Oracle:
    def __init__(
        self,
        *,
        workflow: tuple[State, ...],
        stories: tuple[Story, ...],
        events: tuple[Event, ...],
        tz: str,
        as_of: datetime,
    ):
        self.tz = tz
        self.as_of = pd.Timestamp(as_of)
        self.category = {s.id: s.category for s in workflow}
        self.keys = pd.Series({s.id: s.key for s in stories})
        self.created = pd.Series({s.id: pd.Timestamp(s.created_at) for s in stories})
        rows = [(e.seq, e.story_id, e.kind, pd.Timestamp(e.at), e.to_value) for e in events if e.at <= as_of]
        ev = pd.DataFrame(rows, columns=["seq", "story_id", "kind", "at", "to"]).sort_values("seq")
        self.states = self._changes(ev, "state", lambda v: v["state"])
        self.sprints = self._changes(ev, "sprint", lambda v: v.get("sprint"))
        self.points = self._changes(ev, "points", lambda v: v.get("points"))
        self.deletions = self._deletions(ev)
        self.blocks = self._blocks(ev)
        gone = self.deletions[self.deletions["restored"].isna()]["story_id"]
        self.visible = sorted(set(self.states["story_id"]) - set(gone))

    # -- frames ------------------------------------------------------------------------------------

    def _changes(self, ev: pd.DataFrame, kind: str, from_created) -> pd.DataFrame:
        created = ev[ev["kind"] == "created"].copy()
        created["value"] = created["to"].map(from_created)
        changed = ev[ev["kind"] == kind].copy()
        changed["value"] = changed["to"]
        frame = pd.concat([created, changed]).sort_values("seq")[["seq", "story_id", "at", "value"]]
        frame["value"] = frame["value"].map(lambda v: NONE if v is None or v != v else v)  # None or NaN
        frame["next_at"] = frame.groupby("story_id")["at"].shift(-1)
        frame["prev"] = frame.groupby("story_id")["value"].shift(1)
        return frame.reset_index(drop=True)

    def _deletions(self, ev: pd.DataFrame) -> pd.DataFrame:
        marks = ev[ev["kind"].isin(["deleted", "restored"])].copy()
        marks["restored"] = marks.groupby("story_id")["at"].shift(-1)
        deleted = marks[marks["kind"] == "deleted"]
        return deleted.rename(columns={"at": "deleted"})[["story_id", "deleted", "restored"]]

    def _blocks(self, ev: pd.DataFrame) -> pd.DataFrame:
        marks = ev[ev["kind"].isin(["blocked", "unblocked"])].copy()
        marks["end"] = marks.groupby("story_id")["at"].shift(-1).fillna(self.as_of)
        return marks[marks["kind"] == "blocked"].rename(columns={"at": "start"})[["story_id", "start", "end"]]

    def day(self, stamps: pd.Series) -> pd.Series:
        return stamps.dt.tz_convert(self.tz).dt.date

    def end_of_days(self, first: date, last: date) -> pd.DataFrame:
        days = pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="D")
        ends = (days + pd.Timedelta(days=1)).tz_localize(self.tz).tz_convert("UTC")
        return pd.DataFrame({"day": days.date, "eod": ends})

    # -- Start and Finish ----------------------------------------------------------------------------

    def _done_runs(self, states: pd.DataFrame) -> pd.DataFrame:
        """Each state row with the time its run of consecutive done rows began (NaT if not done)."""
        frame = states.copy()
        frame["done"] = frame["value"].map(self.category) == "done"
        boundary = frame["done"] != frame.groupby("story_id")["done"].shift(1)
        frame["run"] = boundary.cumsum()
        frame["run_start"] = frame.groupby("run")["at"].transform("min").where(frame["done"])
        return frame

    def start_finish(self) -> pd.DataFrame:
        runs = self._done_runs(self.states)
        started = runs[runs["value"].map(self.category).isin(["active", "waiting"])]
        first_start = started.groupby("story_id")["at"].min()
        last = runs.groupby("story_id").tail(1).set_index("story_id")
        finish = last["run_start"].dropna()
        frame = pd.DataFrame({"finish": finish})
        frame["start"] = first_start.reindex(frame.index)
        frame["start"] = frame["start"].fillna(frame["finish"])
        return frame[frame.index.isin(self.visible)]

    def finished_in(self, first: date, last: date) -> pd.DataFrame:
        frame = self.start_finish()
        frame["finish_day"] = self.day(frame["finish"])
        frame = frame[(frame["finish_day"] >= first) & (frame["finish_day"] <= last)].copy()
        frame["key"] = self.keys.reindex(frame.index)
        frame["days"] = (pd.to_datetime(frame["finish_day"]) - pd.to_datetime(self.day(frame["start"]))).dt.days + 1
        frame["hours"] = (frame["finish"] - frame["start"]).dt.total_seconds() / 3600
        return frame

    def cycle_times(self, first: date, last: date) -> dict[str, tuple[int, float]]:
        frame = self.finished_in(first, last)
        return {k: (int(d), float(h)) for k, d, h in zip(frame["key"], frame["days"], frame["hours"], strict=False)}

    def throughput(self, first: date, last: date) -> list[int]:
        counts = self.finished_in(first, last)["finish_day"].value_counts()
        days = pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="D").date
        return [int(counts.get(d, 0)) for d in days]

    # -- end-of-day states ----------------------------------------------------------------------------

    def cfd(self, first: date, last: date) -> dict[int, list[int]]:
        grid = self.end_of_days(first, last)
        states = self.states[self.states["story_id"].isin(self.visible)].copy()
        states["until"] = states["next_at"].fillna(FAR)
        cross = states.merge(grid, how="cross")
        held = cross[(cross["at"] < cross["eod"]) & (cross["eod"] <= cross["until"])]
        held = held[~self._deleted_at(held)]
        counts = held.groupby(["value", "day"]).size()
        return {state: [int(counts.get((state, d), 0)) for d in grid["day"]] for state in self.category}

    def _deleted_at(self, held: pd.DataFrame) -> pd.Series:
        deletions = self.deletions.copy()
        deletions["restored"] = deletions["restored"].fillna(FAR)
        pairs = held[["story_id", "eod"]].reset_index().merge(deletions, on="story_id")
        hit = pairs[(pairs["deleted"] < pairs["eod"]) & (pairs["eod"] <= pairs["restored"])]["index"]
        return held.index.isin(hit)

    def wip(self, first: date, last: date) -> list[int]:
        bands = self.cfd(first, last)
        started = [s for s, c in self.category.items() if c in ("active", "waiting")]
        return [sum(bands[s][i] for s in started) for i in range(len(bands[started[0]]))]

    # -- flow efficiency ------------------------------------------------------------------------------

    def flow_efficiency(self, first: date, last: date) -> tuple[float | None, dict[str, tuple[float, float]]]:
        finished = self.finished_in(first, last)[["start", "finish", "key"]].reset_index(names="story_id")
        states = self.states.copy()
        states["until"] = states["next_at"].fillna(self.as_of)
        active = states[states["value"].map(self.category) == "active"].merge(finished, on="story_id")
        active["lo"] = active[["at", "start"]].max(axis=1)
        active["hi"] = active[["until", "finish"]].min(axis=1)
        active = active[active["hi"] > active["lo"]].reset_index(drop=True)
        spans = (active["hi"] - active["lo"]).dt.total_seconds().groupby(active["story_id"]).sum()
        pairs = active.reset_index().merge(self.blocks, on="story_id")
        overlap = (
            (pairs[["hi", "end"]].min(axis=1) - pairs[["lo", "start_y"]].max(axis=1)).dt.total_seconds().clip(lower=0)
        )
        blocked = overlap.groupby(pairs["story_id"]).sum()
        finished["active"] = finished["story_id"].map(spans.sub(blocked, fill_value=0)).fillna(0.0) / 3600
        finished["total"] = (finished["finish"] - finished["start"]).dt.total_seconds() / 3600
        per_story = {
            k: (a, t - a) for k, a, t in zip(finished["key"], finished["active"], finished["total"], strict=False)
        }
        total = finished["total"].sum()
        return (None if total == 0 else finished["active"].sum() / total), per_story

    # -- sprints --------------------------------------------------------------------------------------

    def _at(self, changes: pd.DataFrame, queries: pd.DataFrame, *, strict: bool, column: str = "value") -> pd.Series:
        """The value of ``changes`` in force at each query's ``t`` (just before it when strict)."""
        left = queries.reset_index().sort_values("t")
        left["t"] = left["t"].astype(UNIT)
        right = changes.sort_values(["at", "seq"])[["story_id", "at", column]]
        right["at"] = right["at"].astype(UNIT)
        # An empty or concatenated frame can leave ids as floats; merge_asof needs one key dtype.
        left["story_id"] = left["story_id"].astype("int64")
        right["story_id"] = right["story_id"].astype("int64")
        joined = pd.merge_asof(
            left, right, left_on="t", right_on="at", by="story_id", allow_exact_matches=not strict, direction="backward"
        )
        return joined.set_index("index")[column].reindex(queries.index)

    def sprint_report(self, sprint: Sprint) -> dict:
        started = pd.Timestamp(sprint.started_at)
        close = min(self.as_of, pd.Timestamp(sprint.closed_at)) if sprint.closed_at else self.as_of
        rows = self.sprints[(self.sprints["at"] <= close)]
        ids = sorted(set(rows[rows["value"] == sprint.id]["story_id"]) - set(self._deleted_ids_at(close)))
        q = pd.DataFrame({"story_id": ids})
        at_start = q.assign(t=started)
        q["in_start"] = self._at(self.sprints, at_start, strict=False) == sprint.id
        q["done_start"] = self._at(self.states, at_start, strict=False).map(self.category) == "done"
        moves = rows[(rows["at"] > started) & rows["story_id"].isin(ids)]
        entries = moves[(moves["value"] == sprint.id) & (moves["prev"] != sprint.id)].groupby("story_id")["at"].min()
        exits = moves[(moves["value"] != sprint.id) & (moves["prev"] == sprint.id)].groupby("story_id")["at"].max()
        q["entered"] = pd.to_datetime(q["story_id"].map(entries.to_dict()), utc=True)
        q["left"] = pd.to_datetime(q["story_id"].map(exits.to_dict()), utc=True)
        q = q[q["in_start"] | q["entered"].notna()]
        already = q[q["in_start"] & q["done_start"]]
        q = q[~(q["in_start"] & q["done_start"])].copy()
        at_close = q[["story_id"]].assign(t=close)
        q["in_close"] = self._at(self.sprints, at_close, strict=False) == sprint.id
        runs = self._done_runs(self.states)
        q["cat_close"] = self._at(self.states, at_close, strict=False).map(self.category)
        q["finish"] = self._at(runs, at_close, strict=False, column="run_start")
        q["entry_t"] = q["entered"].where(~q["in_start"], started)
        q["exit_t"] = q["left"].where(~q["in_close"], close)
        q["entry_points"] = self._at(self.points, q[["story_id"]].assign(t=q["entry_t"]), strict=False)
        q["exit_points"] = self._at(self.points, q[["story_id"]].assign(t=q["exit_t"]), strict=False)
        q["key"] = q["story_id"].map(self.keys)
        q = q.sort_values("story_id")
        done = (q["cat_close"] == "done") & (q["finish"] > started)
        outcome = np.select(
            [~q["in_close"], q["cat_close"] == "cancelled", done],
            ["removed", "cancelled", "completed"],
            "not_completed",
        )
        q["outcome"] = outcome
        pts = lambda s: float(s.replace(NONE, 0).sum())  # noqa: E731
        return {
            "committed": list(q[q["in_start"]]["key"]),
            "already_done": list(already["story_id"].sort_values().map(self.keys)),
            "added": list(q[~q["in_start"]]["key"]),
            "removed": list(q[q["outcome"] == "removed"]["key"]),
            "completed": list(q[q["outcome"] == "completed"]["key"]),
            "cancelled": list(q[q["outcome"] == "cancelled"]["key"]),
            "not_completed": list(q[q["outcome"] == "not_completed"]["key"]),
            "reestimated": sorted(
                (k, None if a == NONE else a, None if b == NONE else b)
                for k, a, b in zip(q["key"], q["entry_points"], q["exit_points"], strict=False)
                if a != b
            ),
            "committed_points": pts(q[q["in_start"]]["entry_points"]),
            "added_points": pts(q[~q["in_start"]]["entry_points"]),
            "removed_points": pts(q[q["outcome"] == "removed"]["exit_points"]),
            "completed_points": pts(q[q["outcome"] == "completed"]["exit_points"]),
            "burndown": self._burndown(sprint, q["story_id"].tolist(), started, close, runs),
        }

    def _deleted_ids_at(self, moment: pd.Timestamp) -> list[int]:
        d = self.deletions
        return list(d[(d["deleted"] <= moment) & (d["restored"].isna() | (d["restored"] > moment))]["story_id"])

    def _burndown(
        self, sprint: Sprint, ids: list[int], started: pd.Timestamp, close: pd.Timestamp, runs
    ) -> list[tuple]:
        close_day = close.tz_convert(self.tz).date()
        grid = self.end_of_days(started.tz_convert(self.tz).date(), close_day)
        out = []
        for day, eod in zip(grid["day"], grid["eod"], strict=False):
            strict = eod <= close
            moment = eod if strict else close
            q = pd.DataFrame({"story_id": ids, "t": moment})
            inside = self._at(self.sprints, q, strict=strict) == sprint.id
            deleted = self.deletions.merge(q, on="story_id")
            if strict:
                gone = deleted[
                    (deleted["deleted"] < moment) & (deleted["restored"].isna() | (deleted["restored"] >= moment))
                ]
            else:
                gone = deleted[
                    (deleted["deleted"] <= moment) & (deleted["restored"].isna() | (deleted["restored"] > moment))
                ]
            inside &= ~q["story_id"].isin(gone["story_id"])
            points = self._at(self.points, q, strict=strict).replace(NONE, 0).astype(float)
            category = self._at(self.states, q, strict=strict).map(self.category)
            finish = self._at(runs, q, strict=strict, column="run_start")
            scope = points[inside].sum()
            remaining = points[inside & ~category.isin(["done", "cancelled"])].sum()
            completed = points[inside & (category == "done") & (finish > started)].sum()
            out.append((day, float(remaining), float(scope), float(completed)))
        return out
