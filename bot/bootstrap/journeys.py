"""Composition of journeys: the templates from the settings, the engine and its service."""

from __future__ import annotations

from bot.settings import JourneysSettings
from core.journey_templates import JourneyTemplate, StepTemplate
from core.journeys import STEPS
from core.services.journey_engine import EngineSettings

HOUR = 3600.0


def journey_template(settings: JourneysSettings) -> JourneyTemplate:
    """The nine steps as configured (``journeys.steps`` in config.yaml)."""
    missing = [name for name in STEPS if name not in settings.steps]
    if missing:
        raise ValueError(f"journeys.steps lacks {', '.join(missing)}")
    steps = []
    for name in STEPS:
        step = settings.steps[name]
        steps.append(
            StepTemplate(
                name=name,
                kind=step.kind,
                wait=step.wait_hours * HOUR,
                text=step.text,
                buttons=tuple(step.buttons),
                amount_usd=step.amount_usd,
                remind_every=step.remind_every_hours * HOUR,
                deadline=step.deadline_hours * HOUR,
                reminder_text=step.reminder_text or step.text,
                ended_text=step.ended_text or step.text,
                report_text=step.report_text or step.text,
            )
        )
    return JourneyTemplate(tuple(steps))


def engine_settings(settings: JourneysSettings) -> EngineSettings:
    """The engine's pace from ``journeys.*``."""
    return EngineSettings(
        time_scale=settings.time_scale,
        batch=settings.batch,
        lease=settings.lease,
    )
