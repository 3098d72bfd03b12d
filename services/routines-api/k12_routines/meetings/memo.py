"""A short progress note since the last stocktake, as Markdown (and HTML rendered from it)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from markdown_it import MarkdownIt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from k12shared.models import ActionItem, Judgment, Meeting, MeetingDecision, Routine
from k12_routines.actions.service import OPEN
from k12_routines.meetings.pack import goal_numbers, routine_goals
from k12_routines.metrics_client import MetricsClient
from k12_routines.people import display_names
from k12_routines.routines.recurrence import zone

RATING_WORDS = {"green": "green", "amber_green": "amber/green", "amber_red": "amber/red", "red": "red"}


async def last_stocktake(session: AsyncSession, meeting: Meeting, routine: Routine) -> Meeting | None:
    """The latest stocktake of the district before this meeting that shares a goal with it."""
    stmt = (
        select(Meeting)
        .join(Routine, Routine.id == Meeting.routine_id)
        .where(
            Routine.district_id == routine.district_id,
            Routine.kind == "stocktake",
            Meeting.status != "cancelled",
            Meeting.starts_at < meeting.starts_at,
            Meeting.id != meeting.id,
        )
        .order_by(Meeting.starts_at.desc())
        .limit(1)
    )
    if routine.goal_ids:
        stmt = stmt.where(Routine.goal_ids.overlap(routine.goal_ids))
    return await session.scalar(stmt)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_").replace("#", "\\#").replace("<", "&lt;")


async def memo_markdown(session: AsyncSession, meeting: Meeting, routine: Routine, metrics: MetricsClient, today: date) -> str:
    tz = zone(routine.timezone)
    previous = await last_stocktake(session, meeting, routine)
    since: datetime = previous.starts_at if previous else meeting.starts_at - timedelta(days=90)
    goals = await routine_goals(session, routine)
    lines = [
        f"# {_escape(routine.title)}: progress note",
        "",
        f"For the meeting of {meeting.starts_at.astimezone(tz):%A %d %B %Y, %H:%M} ({routine.timezone}).",
        f"Since the last stocktake on {since.astimezone(tz):%d %B %Y}." if previous else f"Since {since.astimezone(tz):%d %B %Y} (no earlier stocktake).",
        "",
    ]
    for goal in goals:
        lines += await _goal_section(session, goal, since, metrics, today)
    decisions = list(
        await session.scalars(
            select(MeetingDecision).where(MeetingDecision.district_id == routine.district_id, MeetingDecision.created_at >= since).order_by(MeetingDecision.created_at)
        )
    )
    if decisions:
        lines += ["## Decisions since then", ""] + [f"- {_escape(d.text)}" for d in decisions] + [""]
    if not goals:
        lines += ["No goals are in scope of this routine yet.", ""]
    return "\n".join(lines)


async def _goal_section(session: AsyncSession, goal, since: datetime, metrics: MetricsClient, today: date) -> list[str]:
    numbers = await goal_numbers(goal, metrics)
    judgments = list(await session.scalars(select(Judgment).where(Judgment.goal_id == goal.id).order_by(Judgment.recorded_at.desc()).limit(2)))
    actions = list(await session.scalars(select(ActionItem).where(ActionItem.goal_id == goal.id)))
    done = [a for a in actions if a.status == "done" and a.completed_at and a.completed_at >= since]
    open_ = [a for a in actions if a.status in OPEN]
    overdue = [a for a in open_ if a.due_date < today]
    status = numbers["data_status"]
    data_line = f"Data: {status['status'] or 'status unknown'}" + (f", {status['rag']}" if status["rag"] else "")
    if numbers["unavailable"]:
        data_line += " (from metrics-api unavailable: " + ", ".join(u["part"] for u in numbers["unavailable"]) + ")"
    lines = [f"## {_escape(goal.title)}", "", f"- Target: {goal.metric_code} ({goal.subgroup_code}) {float(goal.target_value):g} by {numbers['expected_trajectory'][-1]['period']}", f"- {data_line}"]
    if judgments:
        latest = judgments[0]
        change = f" (was {RATING_WORDS[judgments[1].rating]})" if len(judgments) > 1 and judgments[1].rating != latest.rating else ""
        lines.append(f"- Judgment: **{RATING_WORDS[latest.rating]}**{change}: {_escape(latest.rationale)}")
    else:
        lines.append("- Judgment: none recorded yet")
    lines.append(f"- Actions: {len(done)} done since then, {len(open_)} open, {len(overdue)} overdue")
    names = await display_names(session, [a.owner for a in overdue])
    lines += [f"  - Overdue: {_escape(a.title)} ({_escape(names.get(a.owner, a.owner))}, due {a.due_date.isoformat()})" for a in overdue]
    return lines + [""]


_markdown = MarkdownIt("commonmark", {"html": False})


def to_html(markdown: str, title: str) -> str:
    """A standalone page; raw HTML in the note's text is not passed through."""
    body = _markdown.render(markdown)
    safe_title = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{safe_title}</title></head>\n<body>\n{body}</body></html>\n'


def memo_parts(markdown: str) -> dict[str, Any]:
    return {"markdown": markdown, "html": _markdown.render(markdown)}
