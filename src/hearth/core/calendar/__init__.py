"""The calendar (``/setup/calendar``): kinds of day and their time triggers, weekly rules saying which dates
are which kind, and the runs of those time triggers. Setup triggers read day types from it (scheduling
interval ``dayType``)."""

from hearth.core.calendar.planning import Planning
from hearth.core.calendar.service import CalendarService
from hearth.model.calendar_events import CALENDAR_FUNCTION_TYPE

__all__ = ["CALENDAR_FUNCTION_TYPE", "CalendarService", "Planning"]
